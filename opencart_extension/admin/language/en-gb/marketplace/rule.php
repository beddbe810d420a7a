<?php
$_['heading_title'] = 'Price and Stock Rules';
$_['text_price_rule'] = 'Price rule';
$_['text_stock_rule'] = 'Stock rule';
$_['text_rounding_none'] = 'No rounding';
$_['entry_markup'] = 'Markup %';
$_['entry_fixed'] = 'Fixed amount added';
$_['entry_rounding'] = 'Round to';
$_['entry_minimum'] = 'Minimum price';
$_['entry_buffer'] = 'Stock buffer (kept back)';
$_['entry_maximum'] = 'Maximum stock sent (0 = no limit)';
$_['error_number'] = 'Enter a number!';
