-- minemap PostGIS store, schema version 4: the optional settlements layer (people exposed).
-- Layer tables are made from the layer schemas by the store (minemap.layers is the one
-- place a layer is declared), so the settlements table itself is created right after this
-- migration, in the same transaction, like every layer table. This migration marks the
-- schema version: a store that may hold settlements batches is refused by a minemap that
-- does not know that layer ("upgrade minemap") instead of failing later on such a batch
-- (undo, integrity check).

COMMENT ON COLUMN minemap_batches.layer IS
  'canonical layer name (minemap.layers): casualties, strikes, hazards, cleared, farmland, '
  'settlements (since schema 4)';
