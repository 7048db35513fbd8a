// The NATS C client (Debian libnats-dev 3.4: core NATS and JetStream), used by PardNATS only.
#include <nats/nats.h>
