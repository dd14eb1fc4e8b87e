{
  "targets": [
    {
      "target_name": "rasterizer",
      "sources": ["src/rasterizer.cc"],
      "cflags!": ["-ffast-math"],
      "cflags_cc!": ["-fno-exceptions", "-ffast-math"],
      "cflags_cc": ["-O2", "-std=c++17", "-fno-fast-math", "-ffp-contract=off"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O2", "-std=c++17", "-fno-fast-math", "-ffp-contract=off"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/fp:precise", "/std:c++17"] } }
    }
  ]
}
