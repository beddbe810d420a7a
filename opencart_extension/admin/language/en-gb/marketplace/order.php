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
$_['column_shipment'] = 'Shipment reported';
$_['flag_unknown_sku'] = 'A product on this order is not in OpenCart: check the lines and the stock by hand';
$_['flag_unknown_currency'] = 'The order currency is not set up in OpenCart: amounts are shown as the marketplace sent them';
$_['flag_total_mismatch'] = 'The marketplace total differs from the sum of its lines (a discount it funds): the marketplace total is kept';
$_['flag_ship_failed'] = 'The marketplace refused the shipment';
$_['flag_cancel_failed'] = 'The marketplace did not take the cancellation: cancel the order in its own seller panel';
$_['flag_invalid_order'] = 'Not imported: the marketplace sent this order with data no shop can store. Check it in the marketplace\'s seller panel; if the marketplace corrects it, it is imported then';
