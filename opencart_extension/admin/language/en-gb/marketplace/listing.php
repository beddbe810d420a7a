<?php
$_['heading_title'] = 'Marketplace Listings';
$_['entry_search'] = 'Name, model, SKU or product ID';
$_['text_list_category'] = 'List all products of a category on a channel';
$_['column_product'] = 'Product';
$_['column_remote_sku'] = 'Marketplace SKU';
$_['column_synced'] = 'Synced';
$_['button_resync'] = 'Resync selected';
$_['button_list_category'] = 'List category';
$_['error_category_empty'] = 'Warning: The category has no products!';
