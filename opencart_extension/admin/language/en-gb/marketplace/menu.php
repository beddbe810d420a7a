<?php
$_['kervan_menu_heading'] = 'Marketplaces';
$_['kervan_menu_dashboard'] = 'Dashboard';
$_['kervan_menu_channel'] = 'Channels';
$_['kervan_menu_listing'] = 'Listings';
$_['kervan_menu_parked'] = 'Parked';
$_['kervan_menu_mapping'] = 'Mappings';
$_['kervan_menu_rule'] = 'Rules';
$_['kervan_menu_order'] = 'Orders';
$_['kervan_menu_supplier'] = 'Suppliers';
