<?php
$_['heading_title'] = 'Tedarikçiler';
$_['text_intro'] = 'Tedarikçi beslemeleri ve sipariş yönlendirme (şimdilik saklanır; stoksuz satışta kullanılacak).';
$_['column_supplier'] = 'Tedarikçi';
$_['column_feed_url'] = 'Besleme adresi';
$_['column_format'] = 'Biçim';
$_['column_forward_email'] = 'Siparişleri ilet';
$_['column_forward'] = 'İlet';
$_['text_new_supplier'] = 'Yeni tedarikçi';
$_['error_feed_url'] = 'Besleme adresi http:// veya https:// ile başlamalı';
$_['error_email'] = 'Geçersiz e-posta!';
