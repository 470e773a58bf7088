{
  "targets": [
    {
      "target_name": "wardwatch_pcap",
      "sources": ["src/binding.c"],
      "libraries": ["-lpcap", "-lpthread"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
