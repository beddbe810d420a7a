<?php
$_['heading_title'] = 'Parked Messages';
$_['text_parked_open'] = 'Open';
$_['text_parked_replayed'] = 'Replayed';
$_['text_parked_discarded'] = 'Discarded';
$_['column_event_type'] = 'Event';
$_['column_queue'] = 'Queue';
$_['column_reason'] = 'Reason';
$_['column_attempts'] = 'Attempts';
$_['column_last_failed'] = 'Last failed';
$_['button_replay'] = 'Replay selected';
$_['button_discard'] = 'Discard selected';
