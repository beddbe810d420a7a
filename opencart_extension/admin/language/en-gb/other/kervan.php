<?php
// Heading
$_['heading_title']      = 'Kervan Marketplaces';

// Text
$_['text_extension']     = 'Extensions';
$_['text_edit']          = 'Edit Kervan';
$_['text_success']       = 'Success: You have modified Kervan!';
$_['text_migrations']    = 'Applied schema migrations';
$_['text_version']       = 'OpenCart version';
$_['text_open']          = 'Open the Marketplaces dashboard';

// Entry
$_['entry_status']       = 'Status';
$_['entry_delete_data']  = 'Also delete Kervan data on uninstall';
$_['help_delete_data']   = 'Off: uninstall removes the events and the menu and keeps channels, listings and the outbox.';

// Error
$_['error_permission']   = 'Warning: You do not have permission to modify Kervan!';
