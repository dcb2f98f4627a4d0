//! The emulated tenant: its model and rules (`model`), the built-in scenarios (`scenarios`) and
//! seed files (`seed`). Knows nothing of HTTP or JSON rendering: the routes render what they serve.

mod model;
mod scenarios;
mod seed;

pub use model::{
    DOMAIN, Decision, EXPIRY, NewRequest, Refusal, Request, Step, Surface, Target, Tenant, User, stable_guid,
};
pub use scenarios::{ARM_ROLES, Scenario};
