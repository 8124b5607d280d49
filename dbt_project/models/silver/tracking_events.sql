-- One row per carrier tracking event, numbered per tracking number, with the manifest's shipment_id
-- (null for orphan events whose tracking number is in no manifest). Incremental on event_date.
{{ config(materialized='delta', incremental_column='event_date') }}

with events as (
    select * from {{ ref('stg_bronze__tracking_events') }}
    {% if incremental_window_start() %} where event_date >= {{ incremental_window_start() }} {% endif %}
),

shipments as (
    select shipment_id, tracking_number from {{ ref('stg_bronze__shipments') }}
)

select
    events.tracking_number,
    events.event_seq,
    shipments.shipment_id,
    events.carrier,
    events.event_code,
    events.event_time,
    events.event_date,
    events.event_city,
    events.event_country,
    events.event_description,
    events.is_orphan,
    shipments.shipment_id is not null as has_manifest
from events
left join shipments on shipments.tracking_number = events.tracking_number
