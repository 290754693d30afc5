//! Lambda: the AI worker functions, their event source mappings from the queues, and the permissions that let other services invoke them.
