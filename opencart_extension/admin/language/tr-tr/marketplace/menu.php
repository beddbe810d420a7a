<?php
$_['kervan_menu_heading'] = 'Pazaryerleri';
$_['kervan_menu_dashboard'] = 'Pano';
$_['kervan_menu_channel'] = 'Kanallar';
$_['kervan_menu_listing'] = 'Listelemeler';
$_['kervan_menu_parked'] = 'Bekletilenler';
$_['kervan_menu_mapping'] = 'Eşleştirmeler';
$_['kervan_menu_rule'] = 'Kurallar';
$_['kervan_menu_order'] = 'Siparişler';
$_['kervan_menu_supplier'] = 'Tedarikçiler';
