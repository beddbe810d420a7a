<?php
$_['heading_title'] = 'Fiyat ve Stok Kuralları';
$_['text_price_rule'] = 'Fiyat kuralı';
$_['text_stock_rule'] = 'Stok kuralı';
$_['text_rounding_none'] = 'Yuvarlama yok';
$_['entry_markup'] = 'Kâr marjı %';
$_['entry_fixed'] = 'Eklenecek sabit tutar';
$_['entry_rounding'] = 'Yuvarla';
$_['entry_minimum'] = 'En düşük fiyat';
$_['entry_buffer'] = 'Stok tamponu (ayrılan)';
$_['entry_maximum'] = 'Gönderilecek en fazla stok (0 = sınırsız)';
$_['error_number'] = 'Bir sayı girin!';
