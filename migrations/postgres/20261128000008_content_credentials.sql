-- Who signed a result's Content Credentials (C2PA), in words; NULL when it is not signed.
ALTER TABLE jobs ADD COLUMN content_credentials TEXT;
