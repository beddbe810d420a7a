<?php
$_['heading_title'] = 'Bekletilen Mesajlar';
$_['text_parked_open'] = 'Açık';
$_['text_parked_replayed'] = 'Yeniden oynatıldı';
$_['text_parked_discarded'] = 'Atıldı';
$_['column_event_type'] = 'Olay';
$_['column_queue'] = 'Kuyruk';
$_['column_reason'] = 'Sebep';
$_['column_attempts'] = 'Deneme';
$_['column_last_failed'] = 'Son hata';
$_['button_replay'] = 'Seçilenleri yeniden oynat';
$_['button_discard'] = 'Seçilenleri at';
