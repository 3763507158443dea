-- +goose Up
-- What the consent screen shows and decides from. Of a client (oauth-clients'
-- ClientState): its links, whether it is a trusted first-party client (it skips the
-- scope part of the screen) and the consent action whose consents it asks for. Of a
-- scope definition: its description. Of a consent: its title and description by language.
ALTER TABLE client_view
    ADD COLUMN client_uri        text NOT NULL DEFAULT '',
    ADD COLUMN policy_uri        text NOT NULL DEFAULT '',
    ADD COLUMN tos_uri           text NOT NULL DEFAULT '',
    ADD COLUMN consent_action_id text NOT NULL DEFAULT '',
    ADD COLUMN trusted           boolean NOT NULL DEFAULT false;
ALTER TABLE scope_view ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN texts jsonb NOT NULL DEFAULT '{}';

-- Rows written before these columns existed lack them. Forgetting which client and scope
-- events the view applied makes the reconciler find the view behind oauth-clients and have
-- it resend them; they are then applied anew, in full. The rows stay meanwhile, so client
-- access keeps working.
DELETE FROM event_versions WHERE subject LIKE 'iam.%.clients.client.%' OR subject LIKE 'iam.%.clients.scope.%';

-- +goose Down
ALTER TABLE consents DROP COLUMN texts;
ALTER TABLE scope_view DROP COLUMN description;
ALTER TABLE client_view
    DROP COLUMN trusted,
    DROP COLUMN consent_action_id,
    DROP COLUMN tos_uri,
    DROP COLUMN policy_uri,
    DROP COLUMN client_uri;
