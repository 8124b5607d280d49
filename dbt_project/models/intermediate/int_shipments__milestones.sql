-- One row per shipment in the manifests: the first time each tracking milestone was scanned. Events join
-- by tracking number, so orphan events (no manifest) never create a shipment.
-- A table: computed once per build instead of by each of its tests and by silver.shipments.
{{ config(materialized='table') }}

with shipments as (
    select shipment_id, tracking_number from {{ ref('stg_bronze__shipments') }}
),

events as (
    select * from {{ ref('stg_bronze__tracking_events') }}
),

milestones as (
    select
        shipments.shipment_id,
        shipments.tracking_number,
        min(case when events.event_code = 'picked_up' then events.event_time end) as picked_up_at,
        min(case when events.event_code = 'departed_origin' then events.event_time end) as departed_at,
        min(case when events.event_code = 'export_customs_cleared' then events.event_time end) as export_cleared_at,
        min(case when events.event_code = 'arrived_destination' then events.event_time end) as arrived_destination_at,
        min(case when events.event_code = 'import_customs_held' then events.event_time end) as customs_held_at,
        min(case when events.event_code = 'import_customs_cleared' then events.event_time end) as customs_cleared_at,
        min(case when events.event_code = 'out_for_delivery' then events.event_time end) as out_for_delivery_at,
        min(case when events.event_code = 'delivered' then events.event_time end) as delivered_at,
        min(case when events.event_code = 'returned_to_sender' then events.event_time end) as returned_to_sender_at,
        count(case when events.event_code = 'exception' then 1 end) as exception_count,
        count(events.event_code) as event_count,
        max(events.event_time) as last_event_at,
        arg_max(events.event_code, events.event_seq) as last_event_code
    from shipments
    left join events on events.tracking_number = shipments.tracking_number
    group by shipments.shipment_id, shipments.tracking_number
)

select
    *,
    -- hours in import customs: from the hold scan to the clearance scan; null while still held
    case
        when customs_held_at is null then 0.0
        when customs_cleared_at > customs_held_at
            then date_diff('second', customs_held_at, customs_cleared_at) / 3600.0
    end as customs_hold_hours
from milestones
