// Loads the compiled binding; require() throws when it was not built (libpcap headers missing at install).
'use strict';
module.exports = require('./build/Release/wardwatch_pcap.node');
