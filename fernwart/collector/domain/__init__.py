"""Pure domain rules of the collector: functions of their inputs, no I/O, no clock."""
