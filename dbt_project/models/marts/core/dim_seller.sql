-- One row per seller (latest reference snapshot): home currency, time zone, plan and status.
select
    seller_id,
    seller_name,
    seller_country,
    home_currency_code,
    seller_timezone,
    seller_language,
    main_category,
    plan_tier,
    seller_status,
    status_since,
    onboarded_on,
    origin_warehouse,
    report_email
from {{ ref('stg_bronze__sellers') }}
