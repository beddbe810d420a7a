<?php
$_['heading_title'] = 'Pazaryeri Siparişleri';
$_['column_remote_order'] = 'Pazaryeri siparişi';
$_['column_order'] = 'OpenCart siparişi';
$_['column_customer'] = 'Müşteri';
$_['column_total'] = 'Toplam';
$_['column_remote_status'] = 'Pazaryeri durumu';
$_['column_order_status'] = 'Sipariş durumu';
$_['column_flags'] = 'İşaretler';
$_['column_date'] = 'İçe aktarıldı';
$_['column_shipment'] = 'Bildirilen kargo';
$_['flag_unknown_sku'] = 'Siparişteki bir ürün OpenCart\'ta yok: satırları ve stoğu elle kontrol edin';
$_['flag_unknown_currency'] = 'Sipariş para birimi OpenCart\'ta tanımlı değil: tutarlar pazaryerinin gönderdiği gibi gösteriliyor';
$_['flag_total_mismatch'] = 'Pazaryeri toplamı satırların toplamından farklı (pazaryerinin karşıladığı bir indirim): pazaryeri toplamı esas alındı';
$_['flag_ship_failed'] = 'Pazaryeri kargo bildirimini reddetti';
$_['flag_cancel_failed'] = 'Pazaryeri iptali kabul etmedi: siparişi pazaryerinin satıcı panelinden iptal edin';
$_['flag_invalid_order'] = 'Aktarılmadı: pazaryeri bu siparişi hiçbir mağazanın saklayamayacağı verilerle gönderdi. Pazaryerinin satıcı panelinden kontrol edin; pazaryeri düzeltirse o zaman aktarılır';
