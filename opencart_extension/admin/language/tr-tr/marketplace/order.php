<?php
$_['heading_title'] = 'Pazaryeri Siparişleri';
$_['column_remote_order'] = 'Pazaryeri siparişi';
$_['column_order'] = 'OpenCart siparişi';
$_['column_customer'] = 'Müşteri';
$_['column_total'] = 'Toplam';
$_['column_remote_status'] = 'Pazaryeri durumu';
$_['column_order_status'] = 'Sipariş durumu';
$_['column_flags'] = 'İşaretler';
$_['column_date'] = 'İçe aktarıldı';
