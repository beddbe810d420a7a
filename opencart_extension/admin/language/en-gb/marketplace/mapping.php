<?php
$_['heading_title'] = 'Marketplace Mappings';
$_['text_kind_category'] = 'Categories';
$_['text_kind_brand'] = 'Brands';
$_['text_kind_attribute'] = 'Attributes and values';
$_['text_add_mapping'] = 'Add or change a mapping';
$_['text_choose_channel'] = 'Add a channel first.';
$_['column_local'] = 'OpenCart';
$_['column_remote'] = 'Marketplace ID';
$_['column_extra'] = 'Extra (JSON)';
$_['entry_local'] = 'OpenCart item';
$_['entry_remote'] = 'Marketplace ID';
$_['entry_extra'] = 'Extra JSON, e.g. {"attributes": [...]} or {"values": {"Red": "123"}}';
$_['error_remote'] = 'Marketplace ID is required!';
$_['error_local'] = 'Choose an OpenCart item!';
$_['error_extra'] = 'Extra must be a JSON object!';
