using TensorServe.Hosting;

namespace TensorServe.Tests.Hosting;

public class FlagParserTests
{
    private const string Argv0 = "tensorflow_model_server";

    // main.cc's flag_list order (tensorflow_serving/model_servers/main.cc), followed by TensorServe's extensions.
    private static readonly string[] MainCcOrder =
    [
        "port", "grpc_socket_path", "rest_api_port", "rest_api_num_threads", "rest_api_timeout_in_ms",
        "rest_api_enable_cors_support", "enable_batching", "allow_version_labels_for_unavailable_models",
        "batching_parameters_file", "enable_per_model_batching_parameters", "model_config_file",
        "model_config_file_poll_wait_seconds", "model_name", "model_base_path", "num_load_threads",
        "num_unload_threads", "max_num_load_retries", "load_retry_interval_micros", "file_system_poll_wait_seconds",
        "flush_filesystem_caches", "tensorflow_session_parallelism", "tensorflow_session_config_file",
        "tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism", "use_alts_credentials",
        "ssl_config_file", "platform_config_file", "per_process_gpu_memory_fraction", "saved_model_tags",
        "grpc_channel_arguments", "grpc_max_threads", "enable_model_warmup", "num_request_iterations_for_warmup",
        "version", "monitoring_config_file", "remove_unused_fields_from_bundle_metagraph", "prefer_tflite_model",
        "num_tflite_pools", "num_tflite_interpreters_per_pool", "enable_signature_method_name_check",
        "xla_cpu_compilation_enabled", "xla_gpu_compilation_enabled", "enable_profiler",
        "thread_pool_factory_config_file", "mixed_precision", "skip_initialize_tpu",
        "enable_grpc_healthcheck_service", "enable_serialization_as_tensor_content",
        "tensorflow_library_path",
    ];

    private static FlagParseResult Parse(params string[] args) => FlagParser.Parse(args, Argv0, "lib-text");

    [Fact]
    public void Parse_NoArguments_TfServingDefaults()
    {
        var result = Parse();
        var o = result.Options;

        Assert.Null(result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Empty(result.UnknownArguments);
        Assert.Empty(result.Errors);
        Assert.Equal(8500, o.Port);
        Assert.Equal("", o.GrpcSocketPath);
        Assert.Equal(0, o.RestApiPort);
        Assert.Equal(4 * Environment.ProcessorCount, o.RestApiNumThreads);
        Assert.Equal(30000, o.RestApiTimeoutInMs);
        Assert.False(o.RestApiEnableCorsSupport);
        Assert.False(o.EnableBatching);
        Assert.Equal("default", o.ModelName);
        Assert.Equal("", o.ModelBasePath);
        Assert.Equal(5, o.MaxNumLoadRetries);
        Assert.Equal(60_000_000L, o.LoadRetryIntervalMicros);
        Assert.Equal(1, o.FileSystemPollWaitSeconds);
        Assert.True(o.FlushFilesystemCaches);
        Assert.Equal("serve", o.SavedModelTags);
        Assert.Equal(4 * Environment.ProcessorCount, o.GrpcMaxThreads);
        Assert.True(o.EnableModelWarmup);
        Assert.True(o.RemoveUnusedFieldsFromBundleMetagraph);
        Assert.Equal(Environment.ProcessorCount, o.NumTflitePools);
        Assert.Equal(1, o.NumTfliteInterpretersPerPool);
        Assert.True(o.EnableProfiler);
        Assert.Equal(0f, o.PerProcessGpuMemoryFraction);
        Assert.Equal("", o.TensorflowLibraryPath);
    }

    [Fact]
    public void Flags_Order_MatchesMainCc()
    {
        Assert.Equal(MainCcOrder, FlagParser.Flags.Select(f => f.Name));
    }

    [Fact]
    public void Parse_TypicalDockerCommandLine_SetsEveryValue()
    {
        var result = Parse("--port=8500", "--rest_api_port=8501", "--model_name=half",
            "--model_base_path=/models/half", "--load_retry_interval_micros=-1",
            "--per_process_gpu_memory_fraction=0.25", "--grpc_socket_path=/tmp/s.sock");
        var o = result.Options;

        Assert.Null(result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal(8500, o.Port);
        Assert.Equal(8501, o.RestApiPort);
        Assert.Equal("half", o.ModelName);
        Assert.Equal("/models/half", o.ModelBasePath);
        Assert.Equal(-1L, o.LoadRetryIntervalMicros);
        Assert.Equal(0.25f, o.PerProcessGpuMemoryFraction);
        Assert.Equal("/tmp/s.sock", o.GrpcSocketPath);
    }

    [Theory]
    [InlineData("--enable_batching", true)]
    [InlineData("--enable_batching=true", true)]
    [InlineData("--enable_batching=TRUE", true)]
    [InlineData("--enable_batching=True", true)]
    [InlineData("--enable_batching=1", true)]
    [InlineData("--enable_batching=false", false)]
    [InlineData("--enable_batching=False", false)]
    [InlineData("--enable_batching=fAlSe", false)]
    [InlineData("--enable_batching=0", false)]
    public void Parse_BoolForms_Accepted(string arg, bool expected)
    {
        var result = Parse(arg);

        Assert.Null(result.ExitCode);
        Assert.Empty(result.UnknownArguments);
        Assert.Equal(expected, result.Options.EnableBatching);
    }

    [Fact]
    public void Parse_BoolDefaultTrueSetFalse_False()
    {
        Assert.False(Parse("--enable_model_warmup=false").Options.EnableModelWarmup);
        Assert.False(Parse("--flush_filesystem_caches=0").Options.FlushFilesystemCaches);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("t")]
    [InlineData("2")]
    [InlineData("")]
    [InlineData(" true")]
    public void Parse_BadBoolValue_UsageAndExit255(string value)
    {
        var result = Parse("--port=9000", $"--enable_batching={value}");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal(FlagParser.Usage(Argv0), result.Output);
        Assert.Equal([$"Couldn't interpret value ={value} for flag enable_batching."], result.Errors);
        // The argument matched the flag, so it is not also unknown.
        Assert.Empty(result.UnknownArguments);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("12abc")]
    [InlineData("0x10")]
    [InlineData("1.5")]
    [InlineData("2147483648")]
    [InlineData("-2147483649")]
    [InlineData("+-5")]
    [InlineData("- 5")]
    [InlineData("1 2")]
    public void Parse_BadInt32Value_UsageAndExit255(string value)
    {
        var result = Parse($"--rest_api_port={value}");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal(FlagParser.Usage(Argv0), result.Output);
        Assert.Equal([$"Couldn't interpret value {value} for flag rest_api_port."], result.Errors);
    }

    [Theory]
    [InlineData("8501", 8501)]
    [InlineData("+8501", 8501)]
    [InlineData("-1", -1)]
    [InlineData(" 42 ", 42)]
    [InlineData("\t7\n", 7)]
    [InlineData("007", 7)]
    [InlineData("2147483647", int.MaxValue)]
    [InlineData("-2147483648", int.MinValue)]
    public void Parse_Int32SimpleAtoiForms_Accepted(string value, int expected)
    {
        var result = Parse($"--rest_api_port={value}");

        Assert.Null(result.ExitCode);
        Assert.Equal(expected, result.Options.RestApiPort);
    }

    [Theory]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("3000000000", 3_000_000_000L)]
    public void Parse_Int64Range_Accepted(string value, long expected)
    {
        Assert.Equal(expected, Parse($"--load_retry_interval_micros={value}").Options.LoadRetryIntervalMicros);
    }

    [Theory]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("99999999999999999999")]
    public void Parse_Int64OutOfRange_Exit255(string value)
    {
        var result = Parse($"--tensorflow_session_parallelism={value}");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal([$"Couldn't interpret value {value} for flag tensorflow_session_parallelism."], result.Errors);
    }

    [Theory]
    [InlineData("0.5", 0.5f)]
    [InlineData("1", 1f)]
    [InlineData(".25", 0.25f)]
    [InlineData("+1e-1", 0.1f)]
    [InlineData(" 0.75 ", 0.75f)]
    [InlineData("1e39", float.PositiveInfinity)]
    [InlineData("-inf", float.NegativeInfinity)]
    [InlineData("Infinity", float.PositiveInfinity)]
    public void Parse_FloatSimpleAtofForms_Accepted(string value, float expected)
    {
        var result = Parse($"--per_process_gpu_memory_fraction={value}");

        Assert.Null(result.ExitCode);
        Assert.Equal(expected, result.Options.PerProcessGpuMemoryFraction);
    }

    [Fact]
    public void Parse_FloatNan_Accepted()
    {
        Assert.True(float.IsNaN(Parse("--per_process_gpu_memory_fraction=nan").Options.PerProcessGpuMemoryFraction));
    }

    [Theory]
    [InlineData("half")]
    [InlineData("")]
    [InlineData("1e")]
    [InlineData("0x1p3")]
    [InlineData("+-1")]
    [InlineData("1,5")]
    [InlineData("0.5f")]
    public void Parse_BadFloat_Exit255(string value)
    {
        var result = Parse($"--per_process_gpu_memory_fraction={value}");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal([$"Couldn't interpret value {value} for flag per_process_gpu_memory_fraction."], result.Errors);
    }

    [Fact]
    public void Parse_StringValue_KeptVerbatimIncludingEqualsAndEmpty()
    {
        var o = Parse("--grpc_channel_arguments=a=1,b=x", "--model_name=").Options;

        Assert.Equal("a=1,b=x", o.GrpcChannelArguments);
        Assert.Equal("", o.ModelName);
    }

    [Fact]
    public void Parse_LongerFlagSharingPrefix_MatchesOnlyTheExactName()
    {
        var o = Parse("--model_config_file_poll_wait_seconds=5", "--model_config_file=/c.cfg").Options;

        Assert.Equal(5, o.ModelConfigFilePollWaitSeconds);
        Assert.Equal("/c.cfg", o.ModelConfigFile);
    }

    [Fact]
    public void Parse_BoolNameFollowedByOtherText_IsUnknown()
    {
        var result = Parse("--enable_batchingX");

        Assert.Null(result.ExitCode);
        Assert.False(result.Options.EnableBatching);
        Assert.Equal(["--enable_batchingX"], result.UnknownArguments);
    }

    [Theory]
    [InlineData("-port=9000")]
    [InlineData("port=9000")]
    [InlineData("--PORT=9000")]
    [InlineData("--port")]
    public void Parse_NotDoubleDashNameEquals_Unknown(string arg)
    {
        var result = Parse(arg);

        Assert.Equal(8500, result.Options.Port);
        Assert.Equal([arg], result.UnknownArguments);
    }

    [Fact]
    public void Parse_SeparateValueWord_BothWordsUnknown()
    {
        var result = Parse("--port", "9000", "--model_name", "m");

        Assert.Equal(8500, result.Options.Port);
        Assert.Equal(["--port", "9000", "--model_name", "m"], result.UnknownArguments);
        Assert.Equal($"unknown argument: --port\n{FlagParser.Usage(Argv0)}", result.Output);
    }

    [Fact]
    public void Parse_UnknownArgument_PrintsFirstAndUsageAndKeepsRunning()
    {
        var result = Parse("--model_base_path=/m", "--bogus=1", "extra");

        Assert.Null(result.ExitCode);
        Assert.Equal("/m", result.Options.ModelBasePath);
        Assert.Equal(["--bogus=1", "extra"], result.UnknownArguments);
        Assert.Equal($"unknown argument: --bogus=1\n{FlagParser.Usage(Argv0)}", result.Output);
    }

    [Fact]
    public void Parse_DoubleDash_EndsParsingAndRestIsUnknown()
    {
        var result = Parse("--port=1", "--", "--rest_api_port=2");

        Assert.Equal(1, result.Options.Port);
        Assert.Equal(0, result.Options.RestApiPort);
        Assert.Equal(["--", "--rest_api_port=2"], result.UnknownArguments);
        Assert.Null(result.ExitCode);
        Assert.StartsWith("unknown argument: --\nusage: ", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HelpFirstLeftover_UsageExit255()
    {
        var result = Parse("--port=1", "--help");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal(FlagParser.Usage(Argv0), result.Output);
    }

    [Fact]
    public void Parse_HelpNotFirstLeftover_TreatedAsUnknown()
    {
        var result = Parse("--nope", "--help");

        Assert.Null(result.ExitCode);
        Assert.Equal(["--nope", "--help"], result.UnknownArguments);
        Assert.StartsWith("unknown argument: --nope\n", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Version_PrintsVersionsAndExit0()
    {
        var result = FlagParser.Parse(["--version"], Argv0, "not loaded (ONNX Runtime 1.31.1)");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            $"TensorFlow ModelServer: {FlagParser.ServerVersion}\nTensorFlow Library: not loaded (ONNX Runtime 1.31.1)\n",
            result.Output);
        Assert.StartsWith("2.20.0+tensorserve.", FlagParser.ServerVersion, StringComparison.Ordinal);
        Assert.Equal(1, FlagParser.ServerVersion.Count(c => c == '+'));
    }

    [Fact]
    public void Parse_VersionWithUnknownArgument_VersionWinsExit0()
    {
        var result = Parse("--version", "--nope");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("TensorFlow ModelServer: ", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VersionWithBadValue_UsageExit255()
    {
        var result = Parse("--version", "--port=x");

        Assert.Equal(255, result.ExitCode);
        Assert.Equal(FlagParser.Usage(Argv0), result.Output);
    }

    [Fact]
    public void Parse_VersionFalse_DoesNotPrintVersion()
    {
        var result = Parse("--version=false");

        Assert.Null(result.ExitCode);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Parse_RepeatedFlag_LastValueWins()
    {
        Assert.Equal(3, Parse("--port=1", "--port=2", "--port=3").Options.Port);
    }

    [Fact]
    public void Usage_Header_UsageThenFlags()
    {
        Assert.StartsWith("usage: /usr/bin/tensorflow_model_server\nFlags:\n",
            FlagParser.Usage("/usr/bin/tensorflow_model_server"), StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_LinePerFlag_TabPadded33TypeHelp()
    {
        var lines = UsageLines();
        Assert.Equal(FlagParser.Flags.Count, lines.Length);

        // int32: %d, padded to 33 columns.
        Assert.StartsWith("\t--port=8500" + new string(' ', 33 - 11) + "\tint32\t", lines[0], StringComparison.Ordinal);
        // string: quoted default (empty too).
        Assert.StartsWith("\t--grpc_socket_path=\"\"" + new string(' ', 33 - 21) + "\tstring\t", lines[1],
            StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("\t--model_name=\"default\"" + new string(' ', 33 - 22) + "\tstring\t",
            StringComparison.Ordinal));
        // bool: false/true.
        Assert.Contains(lines, l => l.StartsWith("\t--enable_batching=false" + new string(' ', 33 - 23) + "\tbool\t",
            StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("\t--enable_model_warmup=true" + new string(' ', 33 - 26) + "\tbool\t",
            StringComparison.Ordinal));
        // int64 and CPU-derived defaults.
        Assert.Contains(lines, l => l.StartsWith("\t--load_retry_interval_micros=60000000\tint64\t",
            StringComparison.Ordinal));
        var restThreads = $"--rest_api_num_threads={4 * Environment.ProcessorCount}";
        Assert.Contains(lines, l => l.StartsWith($"\t{restThreads.PadRight(33)}\tint32\t", StringComparison.Ordinal));
        // float: %f; longer than 33 columns, so no padding.
        Assert.Contains(lines, l => l.StartsWith("\t--per_process_gpu_memory_fraction=0.000000\tfloat\t",
            StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("\t--allow_version_labels_for_unavailable_models=false\tbool\t",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Usage_EveryLine_HasNonEmptyHelpAndMarksExtensions()
    {
        var lines = UsageLines();
        foreach (var line in lines)
        {
            var parts = line.Split('\t');
            Assert.Equal(4, parts.Length);
            Assert.NotEmpty(parts[3]);
        }

        Assert.Contains("[TensorServe extension]", lines[^1], StringComparison.Ordinal);
        Assert.StartsWith("\t--tensorflow_library_path=\"\"", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("[TensorServe extension]", lines[0], StringComparison.Ordinal);
    }

    private static string[] UsageLines()
    {
        var usage = FlagParser.Usage(Argv0);
        var body = usage["usage: tensorflow_model_server\nFlags:\n".Length..];
        Assert.EndsWith("\n", body, StringComparison.Ordinal);
        return body[..^1].Split('\n');
    }
}
