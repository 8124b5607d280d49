-- One row per carrier tracking event (tracking number x event code x event time), numbered in time order
-- per tracking number. is_orphan is the ingest-time flag (no manifest seen yet); it is not refreshed
-- when a late manifest arrives, so joins to shipments go by tracking_number, not by this flag.
-- A table, not a view: the deduplication and numbering windows are computed once per build, not by each test
-- and downstream model (a filter on event_date cannot reach the scan through them).
{{ config(materialized='table') }}

with source as (
    select * from {{ source('bronze', 'tracking_events') }}
),

deduplicated as (
    select *
    from source
    qualify row_number() over (
        partition by tracking_number, event_code, event_time
        order by _ingested_at desc, _source_line desc
    ) = 1
),

renamed as (
    select
        tracking_number,
        row_number() over (partition by tracking_number order by event_time, event_code) as event_seq,
        carrier,
        event_code,
        event_time,
        event_date,
        city as event_city,
        country as event_country,
        description as event_description,
        coalesce(_orphan, false) as is_orphan,
        _source_file as source_file,
        _ingested_at as ingested_at
    from deduplicated
)

select * from renamed
