-- +goose Up
-- Every change of an assignment's variation is an event (docs/lifecycle.md): created,
-- rebucketed (the stored variation left the campaign and a decision replaced it),
-- overwritten (a set or an import wrote another variation), deleted, merged (copied from
-- another id). Events are written by the statement that makes the change, so a committed
-- change always has its event and a refused one never does. Writes that change no variation
-- (the same variation again, an exposure, a goal) are not events.
CREATE TABLE assignment_history (
    account_id       bigint      NOT NULL,
    user_id          text        NOT NULL,
    campaign_key     text        NOT NULL,
    event_id         bigint      GENERATED ALWAYS AS IDENTITY,
    kind             text        NOT NULL
        CHECK (kind IN ('created', 'rebucketed', 'overwritten', 'deleted', 'merged')),
    -- NULL where there is none: before a creation, after a deletion
    old_variation    text,
    new_variation    text,
    -- the assignment's source after the change (before it, for a deletion)
    source           text        NOT NULL,
    -- the account's newest settings version when the change was written, NULL without one
    settings_version bigint,
    reason_code      text        NOT NULL,
    -- the API request that made the change; NULL for the command line
    request_id       text,
    -- the id a merged row was copied from
    merged_from      text,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    -- One index serves every reader, so an event costs one index entry: one user's events of
    -- one campaign are one range, newest last (the API); one campaign's events are one range
    -- (retention deletes a removed campaign's); an erasure reaches one user's events with a
    -- probe per campaign of the account. account_id and user_id are in it, as in every primary
    -- key, so the table can be distributed by user.
    PRIMARY KEY (account_id, campaign_key, user_id, event_id)
);
-- An erasure clears the erased id from the merged events of the ids it was merged into.
CREATE INDEX assignment_history_merged_from_idx ON assignment_history (account_id, merged_from)
    WHERE merged_from IS NOT NULL;

-- PostgreSQL 15's RETURNING shows a row only after the write, and an event needs the
-- variation before it, exactly, even when another transaction changed the row after the
-- statement began. So every write that can change a variation sets this column to the
-- variation it found (it is NULL on a row the write inserted) and reads it back in
-- RETURNING. It is in no index, so those writes stay HOT updates.
ALTER TABLE assignments ADD COLUMN previous_variation text;

-- +goose Down
ALTER TABLE assignments DROP COLUMN previous_variation;
DROP TABLE assignment_history;
