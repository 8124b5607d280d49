-- One row per non-ad marketing cost line: an affiliate commission per order acquired through an affiliate
-- (order currency) or a monthly email tool fee (USD, no order). A re-delivered line keeps its latest ingest.
with source as (
    select * from {{ source('bronze', 'marketing_costs') }}
),

renamed as (
    select
        date as cost_date,
        cost_type,
        channel,
        partner_id,
        order_id,
        amount::decimal(18, 4) as amount,
        upper(currency) as currency_code,
        _source_file as source_file,
        _ingested_at as ingested_at
    from source
    qualify row_number() over (
        partition by date, cost_type, channel, order_id, partner_id order by _ingested_at desc
    ) = 1
)

select * from renamed
