<?php
$_['heading_title'] = 'Marketplace Orders';
$_['column_remote_order'] = 'Marketplace order';
$_['column_order'] = 'OpenCart order';
$_['column_customer'] = 'Customer';
$_['column_total'] = 'Total';
$_['column_remote_status'] = 'Marketplace status';
$_['column_order_status'] = 'Order status';
$_['column_flags'] = 'Flags';
$_['column_date'] = 'Imported';
