-- A visible label drawn on the result, by language code (`en`, `zh`); NULL for none.
ALTER TABLE jobs ADD COLUMN visible_label TEXT;
