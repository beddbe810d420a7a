<?php
// Heading
$_['heading_title']      = 'Kervan Pazaryerleri';

// Text
$_['text_extension']     = 'Eklentiler';
$_['text_edit']          = 'Kervan Düzenle';
$_['text_success']       = 'Başarılı: Kervan ayarlarını değiştirdiniz!';
$_['text_migrations']    = 'Uygulanan şema geçişleri';
$_['text_version']       = 'OpenCart sürümü';
$_['text_open']          = 'Pazaryerleri panosunu aç';

// Entry
$_['entry_status']       = 'Durum';
$_['entry_delete_data']  = 'Kaldırırken Kervan verilerini de sil';
$_['help_delete_data']   = 'Kapalı: kaldırma olayları ve menüyü siler; kanallar, listelemeler ve giden kutusu kalır.';

// Error
$_['error_permission']   = 'Uyarı: Kervan ayarlarını değiştirme yetkiniz yok!';
