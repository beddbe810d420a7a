<?php
$_['heading_title'] = 'Pazaryeri Listelemeleri';
$_['entry_search'] = 'Ad, model, SKU veya ürün no';
$_['text_list_category'] = 'Bir kategorideki tüm ürünleri bir kanalda listele';
$_['column_product'] = 'Ürün';
$_['column_remote_sku'] = 'Pazaryeri SKU';
$_['column_synced'] = 'Eşitlendi';
$_['button_resync'] = 'Seçilenleri yeniden eşitle';
$_['button_list_category'] = 'Kategoriyi listele';
$_['error_category_empty'] = 'Uyarı: Kategoride ürün yok!';
