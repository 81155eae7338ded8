//! Placeholder library target so the end-to-end suite can live in its own package; the tests are in `end_to_end/`.
