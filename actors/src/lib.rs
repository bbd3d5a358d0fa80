//! vigil's actors: pure replayable cores and thin actix shells, with real and simulated hardware backends.
