<?php
$_['heading_title'] = 'Pazaryeri Eşleştirmeleri';
$_['text_kind_category'] = 'Kategoriler';
$_['text_kind_brand'] = 'Markalar';
$_['text_kind_attribute'] = 'Özellikler ve değerler';
$_['text_add_mapping'] = 'Eşleştirme ekle veya değiştir';
$_['text_choose_channel'] = 'Önce bir kanal ekleyin.';
$_['column_local'] = 'OpenCart';
$_['column_remote'] = 'Pazaryeri no';
$_['column_extra'] = 'Ek (JSON)';
$_['entry_local'] = 'OpenCart öğesi';
$_['entry_remote'] = 'Pazaryeri no';
$_['entry_extra'] = 'Ek JSON, ör. {"attributes": [...]} veya {"values": {"Kırmızı": "123"}}';
$_['error_remote'] = 'Pazaryeri no gerekli!';
$_['error_local'] = 'Bir OpenCart öğesi seçin!';
$_['error_extra'] = 'Ek alanı bir JSON nesnesi olmalı!';
