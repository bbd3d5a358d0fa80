//! vigil's config file: typed schema, validation with file/line/column errors, and time-zone-correct schedule resolution.
