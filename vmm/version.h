/* The one place the version lives: --version, GET / and GET /version. */
#ifndef EMBER_VERSION_H
#define EMBER_VERSION_H

#define EMBER_VERSION "0.2.0"

#endif
