<?php
$_['heading_title'] = 'Suppliers';
$_['text_intro'] = 'Supplier feeds and order forwarding (stored now; used by dropshipping).';
$_['column_supplier'] = 'Supplier';
$_['column_feed_url'] = 'Feed URL';
$_['column_format'] = 'Format';
$_['column_forward_email'] = 'Forward orders to';
$_['column_forward'] = 'Forward';
$_['text_new_supplier'] = 'New supplier';
$_['error_feed_url'] = 'Feed URL must start with http:// or https://';
$_['error_email'] = 'Invalid e-mail!';
