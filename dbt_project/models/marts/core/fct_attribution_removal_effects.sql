-- One row per Markov model x channel: removal effect (share of conversions lost without the channel), its
-- normalised share, the value-weighted removal effects and the aggregate allocation. From the Spark job.
select
    model,
    markov_order,
    channel,
    removal_effect,
    normalized as removal_effect_share,
    revenue_removal_effect,
    revenue_normalized as revenue_removal_effect_share,
    conversions,
    revenue_reporting,
    conversion_probability
from {{ source('gold', 'attribution_removal_effects') }}
