// libmosquitto (Eclipse Mosquitto's MQTT client library, Debian libmosquitto-dev), used by PardMQTT only.
#include <mosquitto.h>
