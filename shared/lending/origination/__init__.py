"""The origination use cases, one per phase of the state machine.

Each state of `infra/statemachines/origination.asl.json` runs one method here, through
the handler of the same name in `functions/<phase>/app.py`:

| phase (module)    | states                                             |
|-------------------|----------------------------------------------------|
| `documents`       | ValidateDocuments, RequestReupload                 |
| `collection`      | CreditBureau, BusinessRegistry, TaxBureau, JudicialRecords |
| `scoring`         | Score                                              |
| `review`          | QueueForReview, EscalateReview                     |
| `signing`         | Offer, SignContract                                |
| `disbursement`    | Disburse                                           |
| `booking`         | Book                                               |
| `finalizing`      | every terminal state: Decline*, OfferRefused, OfferExpired, ...   |

Every step is idempotent: it first looks at what the application already records and
returns that, so a retried or redelivered step never redoes work with effects (an OCR
pass, a quota reservation, a fund request, a booking). `states` holds the pydantic
models of each state's input and output.
"""
