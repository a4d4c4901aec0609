using System.Globalization;
using System.Reflection;
using System.Text;

namespace TensorServe.Hosting;

/// <summary>
/// <c>tensorflow_model_server</c>'s command line: TSL <c>Flags::Parse</c>/<c>Flags::Usage</c> semantics over the flag
/// list of <c>model_servers/main.cc</c> (spec §4.1). Pure: it returns what to print and whether to exit, and never
/// writes to the console itself.
/// </summary>
internal static class FlagParser
{
    /// <summary>TF Serving release this server mirrors (spec §0).</summary>
    internal const string TfServingVersion = "2.20.0";

    private const int UsageExitCode = 255; // main() returns -1
    private const string ExtensionNote = "[TensorServe extension] ";

    /// <summary>Every flag, in main.cc's order (which decides matching precedence and the usage order).</summary>
    internal static readonly IReadOnlyList<FlagDefinition> Flags =
    [
        FlagDefinition.Int32("port", o => o.Port, (o, v) => o.Port = v,
            "TCP port for the gRPC API; 0 disables TCP gRPC."),
        FlagDefinition.String("grpc_socket_path", o => o.GrpcSocketPath, (o, v) => o.GrpcSocketPath = v,
            "If non-empty, also serve the gRPC API on this UNIX socket path (relative or absolute)."),
        FlagDefinition.Int32("rest_api_port", o => o.RestApiPort, (o, v) => o.RestApiPort = v,
            "TCP port for the HTTP/REST API; 0 disables REST. Must differ from --port."),
        FlagDefinition.Int32("rest_api_num_threads", o => o.RestApiNumThreads, (o, v) => o.RestApiNumThreads = v,
            "Threads processing HTTP/REST requests. Defaults to 4 x the number of CPUs."),
        FlagDefinition.Int32("rest_api_timeout_in_ms", o => o.RestApiTimeoutInMs, (o, v) => o.RestApiTimeoutInMs = v,
            "Timeout in milliseconds for HTTP/REST inference calls (applied when > 0)."),
        FlagDefinition.Bool("rest_api_enable_cors_support", o => o.RestApiEnableCorsSupport,
            (o, v) => o.RestApiEnableCorsSupport = v, "Add CORS headers to HTTP/REST responses."),
        FlagDefinition.Bool("enable_batching", o => o.EnableBatching, (o, v) => o.EnableBatching = v,
            "Batch inference requests across clients."),
        FlagDefinition.Bool("allow_version_labels_for_unavailable_models",
            o => o.AllowVersionLabelsForUnavailableModels, (o, v) => o.AllowVersionLabelsForUnavailableModels = v,
            "Allow new version labels to point at versions that are not available yet."),
        FlagDefinition.String("batching_parameters_file", o => o.BatchingParametersFile,
            (o, v) => o.BatchingParametersFile = v,
            "If non-empty, a text-format BatchingParameters file that replaces the default batching parameters."),
        FlagDefinition.Bool("enable_per_model_batching_parameters", o => o.EnablePerModelBatchingParameters,
            (o, v) => o.EnablePerModelBatchingParameters = v,
            "Read batching parameters from batching_params.pbtxt in each model version directory; the global file " +
            "then only supplies the shared thread pool settings. Needs --enable_batching."),
        FlagDefinition.String("model_config_file", o => o.ModelConfigFile, (o, v) => o.ModelConfigFile = v,
            "If non-empty, a text-format ModelServerConfig file listing the models to serve (with version policies " +
            "and labels). --model_name and --model_base_path are then ignored."),
        FlagDefinition.Int32("model_config_file_poll_wait_seconds", o => o.ModelConfigFilePollWaitSeconds,
            (o, v) => o.ModelConfigFilePollWaitSeconds = v,
            "Seconds between re-reads of --model_config_file; 0 reads it only at startup."),
        FlagDefinition.String("model_name", o => o.ModelName, (o, v) => o.ModelName = v,
            "Name of the single model to serve (ignored with --model_config_file)."),
        FlagDefinition.String("model_base_path", o => o.ModelBasePath, (o, v) => o.ModelBasePath = v,
            "Absolute path or URI of the single model, without the version directory (required unless " +
            "--model_config_file is set)."),
        FlagDefinition.Int32("num_load_threads", o => o.NumLoadThreads, (o, v) => o.NumLoadThreads = v,
            "Threads loading models; 0 loads them one at a time in the manager loop."),
        FlagDefinition.Int32("num_unload_threads", o => o.NumUnloadThreads, (o, v) => o.NumUnloadThreads = v,
            "Threads unloading models; 0 unloads them one at a time in the manager loop."),
        FlagDefinition.Int32("max_num_load_retries", o => o.MaxNumLoadRetries, (o, v) => o.MaxNumLoadRetries = v,
            "Retries after a failed model load before giving up; 0 tries once."),
        FlagDefinition.Int64("load_retry_interval_micros", o => o.LoadRetryIntervalMicros,
            (o, v) => o.LoadRetryIntervalMicros = v,
            "Microseconds to wait between load retries; negative does not wait."),
        FlagDefinition.Int32("file_system_poll_wait_seconds", o => o.FileSystemPollWaitSeconds,
            (o, v) => o.FileSystemPollWaitSeconds = v,
            "Seconds between scans of the model base paths for new versions; 0 scans once, negative never " +
            "(testing only)."),
        FlagDefinition.Bool("flush_filesystem_caches", o => o.FlushFilesystemCaches,
            (o, v) => o.FlushFilesystemCaches = v,
            "Flush filesystem caches after the initial load and after later single-threaded reloads."),
        FlagDefinition.Int64("tensorflow_session_parallelism", o => o.TensorflowSessionParallelism,
            (o, v) => o.TensorflowSessionParallelism = v,
            "Threads for running a session (sets both intra- and inter-op pools); 0 picks automatically. Ignored " +
            "with --platform_config_file."),
        FlagDefinition.String("tensorflow_session_config_file", o => o.TensorflowSessionConfigFile,
            (o, v) => o.TensorflowSessionConfigFile = v,
            "If non-empty, a text-format ConfigProto file for sessions; thread flags can still override it."),
        FlagDefinition.Int64("tensorflow_intra_op_parallelism", o => o.TensorflowIntraOpParallelism,
            (o, v) => o.TensorflowIntraOpParallelism = v,
            "Threads used inside a single op; 0 picks automatically. Ignored with --platform_config_file."),
        FlagDefinition.Int64("tensorflow_inter_op_parallelism", o => o.TensorflowInterOpParallelism,
            (o, v) => o.TensorflowInterOpParallelism = v,
            "Ops that may run at the same time; 0 picks automatically. Ignored with --platform_config_file."),
        FlagDefinition.Bool("use_alts_credentials", o => o.UseAltsCredentials, (o, v) => o.UseAltsCredentials = v,
            "Use Google ALTS credentials for gRPC."),
        FlagDefinition.String("ssl_config_file", o => o.SslConfigFile, (o, v) => o.SslConfigFile = v,
            "If non-empty, a text-format SSLConfig file; gRPC then uses TLS."),
        FlagDefinition.String("platform_config_file", o => o.PlatformConfigFile, (o, v) => o.PlatformConfigFile = v,
            "If non-empty, a text-format PlatformConfigMap file used instead of the built-in TensorFlow platform " +
            "config (--enable_batching and the session flags are then ignored)."),
        FlagDefinition.Float("per_process_gpu_memory_fraction", o => o.PerProcessGpuMemoryFraction,
            (o, v) => o.PerProcessGpuMemoryFraction = v,
            "Fraction of GPU memory each process may use, 0.0 to 1.0; 0.0 lets TensorFlow choose, 1.0 allocates all " +
            "of it at startup."),
        FlagDefinition.String("saved_model_tags", o => o.SavedModelTags, (o, v) => o.SavedModelTags = v,
            "Comma-separated tags of the MetaGraphDef to load from a SavedModel."),
        FlagDefinition.String("grpc_channel_arguments", o => o.GrpcChannelArguments,
            (o, v) => o.GrpcChannelArguments = v,
            "Comma-separated key=value gRPC server arguments, e.g. grpc.max_connection_age_ms=2000."),
        FlagDefinition.Int32("grpc_max_threads", o => o.GrpcMaxThreads, (o, v) => o.GrpcMaxThreads = v,
            "Maximum gRPC server threads. Defaults to 4 x the number of CPUs."),
        FlagDefinition.Bool("enable_model_warmup", o => o.EnableModelWarmup, (o, v) => o.EnableModelWarmup = v,
            "Replay assets.extra/tf_serving_warmup_requests when a model loads, to cut first-request latency."),
        FlagDefinition.Int32("num_request_iterations_for_warmup", o => o.NumRequestIterationsForWarmup,
            (o, v) => o.NumRequestIterationsForWarmup = v,
            "Times each warmup request is replayed (used only if > 0)."),
        FlagDefinition.Bool("version", o => o.Version, (o, v) => o.Version = v, "Print the version and exit."),
        FlagDefinition.String("monitoring_config_file", o => o.MonitoringConfigFile,
            (o, v) => o.MonitoringConfigFile = v,
            "If non-empty, a text-format MonitoringConfig file (Prometheus endpoint)."),
        FlagDefinition.Bool("remove_unused_fields_from_bundle_metagraph",
            o => o.RemoveUnusedFieldsFromBundleMetagraph, (o, v) => o.RemoveUnusedFieldsFromBundleMetagraph = v,
            "Keep only the signatures of a loaded MetaGraphDef in memory."),
        FlagDefinition.Bool("prefer_tflite_model", o => o.PreferTfliteModel, (o, v) => o.PreferTfliteModel = v,
            "EXPERIMENTAL. Load model.tflite from the version directory when present instead of saved_model.pb."),
        FlagDefinition.Int32("num_tflite_pools", o => o.NumTflitePools, (o, v) => o.NumTflitePools = v,
            "EXPERIMENTAL. Interpreter pools per TF Lite model. Defaults to the number of CPUs."),
        FlagDefinition.Int32("num_tflite_interpreters_per_pool", o => o.NumTfliteInterpretersPerPool,
            (o, v) => o.NumTfliteInterpretersPerPool = v, "EXPERIMENTAL. TF Lite interpreters in each pool."),
        FlagDefinition.Bool("enable_signature_method_name_check", o => o.EnableSignatureMethodNameCheck,
            (o, v) => o.EnableSignatureMethodNameCheck = v,
            "Check SignatureDef method_name for Classify/Regress/Predict; leave off for native TF2 models."),
        FlagDefinition.Bool("xla_cpu_compilation_enabled", o => o.XlaCpuCompilationEnabled,
            (o, v) => o.XlaCpuCompilationEnabled = v, "EXPERIMENTAL. Enable XLA:CPU JIT compilation."),
        FlagDefinition.Bool("xla_gpu_compilation_enabled", o => o.XlaGpuCompilationEnabled,
            (o, v) => o.XlaGpuCompilationEnabled = v, "EXPERIMENTAL. Enable XLA:CPU and XLA:GPU JIT compilation."),
        FlagDefinition.Bool("enable_profiler", o => o.EnableProfiler, (o, v) => o.EnableProfiler = v,
            "Serve the profiler service on the gRPC port."),
        FlagDefinition.String("thread_pool_factory_config_file", o => o.ThreadPoolFactoryConfigFile,
            (o, v) => o.ThreadPoolFactoryConfigFile = v,
            "If non-empty, a text-format ThreadPoolFactoryConfig file."),
        FlagDefinition.String("mixed_precision", o => o.MixedPrecision, (o, v) => o.MixedPrecision = v,
            "Mixed precision mode; only bfloat16 is supported."),
        FlagDefinition.Bool("skip_initialize_tpu", o => o.SkipInitializeTpu, (o, v) => o.SkipInitializeTpu = v,
            "Do not initialize the TPU system at startup (TPU builds only)."),
        FlagDefinition.Bool("enable_grpc_healthcheck_service", o => o.EnableGrpcHealthcheckService,
            (o, v) => o.EnableGrpcHealthcheckService = v, "Serve the standard grpc.health.v1 health service."),
        FlagDefinition.Bool("enable_serialization_as_tensor_content", o => o.EnableSerializationAsTensorContent,
            (o, v) => o.EnableSerializationAsTensorContent = v,
            "Return Predict output tensors in tensor_content instead of typed value fields."),
        FlagDefinition.String("tensorflow_library_path", o => o.TensorflowLibraryPath,
            (o, v) => o.TensorflowLibraryPath = v,
            ExtensionNote + "Path to libtensorflow for the TensorFlow backend; empty = not configured."),
    ];

    /// <summary>
    /// Parses <paramref name="args"/> (the arguments after the program name) the way TF Serving's <c>main</c> does:
    /// <list type="bullet">
    /// <item>a bad value or a leading <c>--help</c>: usage on stdout, exit 255;</item>
    /// <item><c>--version</c>: the two version lines, exit 0 (checked before unknown arguments, as in main.cc);</item>
    /// <item>unknown arguments: <c>unknown argument: &lt;first&gt;</c> plus the usage, and the server keeps running.</item>
    /// </list>
    /// </summary>
    /// <param name="args">Command-line arguments without the program name.</param>
    /// <param name="argv0">Program name shown in the usage header.</param>
    /// <param name="tensorflowLibrary">Text for the <c>TensorFlow Library:</c> line of <c>--version</c>.</param>
    public static FlagParseResult Parse(string[] args, string argv0, string tensorflowLibrary = "unknown")
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ServerOptions();
        var unknown = new List<string>();
        var errors = new List<string>();
        var ok = true;

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                // "--" and everything after it are passed through as unknown.
                for (; i < args.Length; i++)
                {
                    unknown.Add(args[i]);
                }

                break;
            }

            var found = false;
            foreach (var flag in Flags)
            {
                var match = flag.TryParse(arg, options, out var error);
                if (error is not null)
                {
                    errors.Add(error);
                    ok = false;
                }

                if (match)
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                unknown.Add(arg);
            }
        }

        if (!ok || (unknown.Count > 0 && unknown[0] == "--help"))
        {
            return new FlagParseResult(options, UsageExitCode, Usage(argv0), errors, unknown);
        }

        if (options.Version)
        {
            return new FlagParseResult(options, 0, VersionText(tensorflowLibrary), errors, unknown);
        }

        var output = unknown.Count > 0 ? $"unknown argument: {unknown[0]}\n{Usage(argv0)}" : "";
        return new FlagParseResult(options, null, output, errors, unknown);
    }

    /// <summary>TSL <c>Flags::Usage</c>: header, then <c>"\t%-33s\t%s\t%s\n"</c> per flag with its default.</summary>
    public static string Usage(string argv0)
    {
        var defaults = new ServerOptions();
        var sb = new StringBuilder();
        sb.Append("usage: ").Append(argv0).Append("\nFlags:\n");
        foreach (var flag in Flags)
        {
            var display = $"--{flag.Name}={flag.FormatDefault(defaults)}";
            sb.Append('\t').Append(display.PadRight(33)).Append('\t').Append(flag.TypeName).Append('\t')
                .Append(flag.Help).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>What <c>--version</c> prints.</summary>
    public static string VersionText(string tensorflowLibrary) =>
        $"TensorFlow ModelServer: {ServerVersion}\nTensorFlow Library: {tensorflowLibrary}\n";

    /// <summary>
    /// <c>2.20.0+tensorserve.&lt;informational version&gt;</c>. A source revision the SDK appends as <c>+sha</c> is
    /// written <c>.sha.&lt;sha&gt;</c>, like TF Serving's own <c>+dev.sha.&lt;hash&gt;</c>, so the string keeps a
    /// single <c>+</c>.
    /// </summary>
    internal static string ServerVersion { get; } = BuildServerVersion();

    private static string BuildServerVersion()
    {
        var informational = typeof(FlagParser).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            informational = typeof(FlagParser).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        return $"{TfServingVersion}+tensorserve.{informational.Replace("+", ".sha.", StringComparison.Ordinal)}";
    }

    // ---- value parsing (absl::SimpleAtoi / SimpleAtof) ----

    // absl::ascii_isspace.
    private static bool IsAsciiSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static ReadOnlySpan<char> StripAsciiWhitespace(ReadOnlySpan<char> s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && IsAsciiSpace(s[start]))
        {
            start++;
        }

        while (end > start && IsAsciiSpace(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    /// <summary>
    /// <c>absl::SimpleAtoi</c>: surrounding ASCII whitespace is ignored, one optional sign, then base-10 digits only;
    /// out-of-range values fail rather than wrap.
    /// </summary>
    internal static bool TryParseInteger(string text, long min, long max, out long value)
    {
        value = 0;
        var s = StripAsciiWhitespace(text);
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.Length == 0)
        {
            return false;
        }

        // Accumulate as a negative number so long.MinValue is representable.
        long acc = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            var digit = c - '0';
            if (acc < (long.MinValue + digit) / 10)
            {
                return false;
            }

            acc = (acc * 10) - digit;
        }

        if (!negative)
        {
            if (acc == long.MinValue)
            {
                return false;
            }

            acc = -acc;
        }

        if (acc < min || acc > max)
        {
            return false;
        }

        value = acc;
        return true;
    }

    /// <summary>
    /// <c>absl::SimpleAtof</c>: surrounding ASCII whitespace is ignored, an optional <c>+</c> (not followed by
    /// <c>-</c>), then what <c>absl::from_chars</c> accepts in general format: a decimal mantissa with optional
    /// exponent, <c>inf</c>/<c>infinity</c> or <c>nan</c>/<c>nan(chars)</c>. Overflow gives ±infinity.
    /// </summary>
    internal static bool TryParseFloat(string text, out float value)
    {
        value = 0;
        var s = StripAsciiWhitespace(text);
        if (s.Length > 0 && s[0] == '+')
        {
            s = s[1..];
            if (s.Length > 0 && s[0] == '-')
            {
                return false;
            }
        }

        var negative = s.Length > 0 && s[0] == '-';
        var body = negative ? s[1..] : s;
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) ||
            body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? float.NegativeInfinity : float.PositiveInfinity;
            return true;
        }

        if (IsNan(body))
        {
            value = float.NaN;
            return true;
        }

        if (!IsDecimalFloat(body))
        {
            return false;
        }

        // .NET returns ±infinity on overflow and 0 on underflow, matching SimpleAtof.
        return float.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint |
            NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);
    }

    private static bool IsNan(ReadOnlySpan<char> s)
    {
        if (s.Length < 3 || !s[..3].Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (s.Length == 3)
        {
            return true;
        }

        // nan(n-char-sequence): letters, digits and '_' between parentheses.
        if (s[3] != '(' || s[^1] != ')')
        {
            return false;
        }

        foreach (var c in s[4..^1])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    // digits [. digits] | . digits, then optional e[+-]digits; at least one mantissa digit.
    private static bool IsDecimalFloat(ReadOnlySpan<char> s)
    {
        var i = 0;
        var mantissaDigits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
            mantissaDigits++;
        }

        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
                mantissaDigits++;
            }
        }

        if (mantissaDigits == 0)
        {
            return false;
        }

        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            {
                i++;
            }

            var exponentDigits = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
                exponentDigits++;
            }

            if (exponentDigits == 0)
            {
                return false;
            }
        }

        return i == s.Length;
    }
}

/// <summary>TSL flag types; the names are what the usage text prints.</summary>
internal enum FlagType
{
    Int32,
    Int64,
    Bool,
    String,
    Float,
}

/// <summary>One flag: name, type, help text and how it reads and writes <see cref="ServerOptions"/>.</summary>
internal sealed class FlagDefinition
{
    private readonly Func<ServerOptions, string> _format;
    private readonly Func<ServerOptions, string, bool> _trySet;

    private FlagDefinition(string name, FlagType type, string help, Func<ServerOptions, string> format,
        Func<ServerOptions, string, bool> trySet)
    {
        Name = name;
        Type = type;
        Help = help;
        _format = format;
        _trySet = trySet;
    }

    public string Name { get; }
    public FlagType Type { get; }
    public string Help { get; }

    public string TypeName => Type switch
    {
        FlagType.Int32 => "int32",
        FlagType.Int64 => "int64",
        FlagType.Bool => "bool",
        FlagType.String => "string",
        _ => "float",
    };

    /// <summary>The option's current value as text (<c>true</c>/<c>false</c>, raw string, decimal numbers).</summary>
    public string FormatValue(ServerOptions options) => _format(options);

    /// <summary>The value as <c>Flags::Usage</c> prints a default: strings quoted, floats <c>%f</c>.</summary>
    public string FormatDefault(ServerOptions defaults) => Type switch
    {
        FlagType.String => $"\"{_format(defaults)}\"",
        _ => _format(defaults),
    };

    /// <summary>
    /// TSL <c>Flag::Parse</c>: returns whether <paramref name="arg"/> is this flag (<c>--name=value</c>, or
    /// <c>--name</c> alone for a bool). A matching argument with a bad value still matches and sets
    /// <paramref name="error"/>.
    /// </summary>
    public bool TryParse(string arg, ServerOptions options, out string? error)
    {
        error = null;
        if (arg.Length < 2 + Name.Length || !arg.StartsWith("--", StringComparison.Ordinal) ||
            !arg.AsSpan(2, Name.Length).SequenceEqual(Name))
        {
            return false;
        }

        var rest = arg.AsSpan(2 + Name.Length);
        if (Type == FlagType.Bool)
        {
            if (rest.IsEmpty)
            {
                _trySet(options, "true");
                return true;
            }

            // Longer names that start with this one (e.g. --version_x) are other arguments.
            if (rest[0] != '=')
            {
                return false;
            }

            if (!_trySet(options, rest[1..].ToString()))
            {
                error = $"Couldn't interpret value {rest} for flag {Name}.";
            }

            return true;
        }

        if (rest.IsEmpty || rest[0] != '=')
        {
            return false;
        }

        var value = rest[1..].ToString();
        if (!_trySet(options, value))
        {
            error = $"Couldn't interpret value {value} for flag {Name}.";
        }

        return true;
    }

    public static FlagDefinition Int32(string name, Func<ServerOptions, int> get, Action<ServerOptions, int> set,
        string help) =>
        new(name, FlagType.Int32, help, o => get(o).ToString(CultureInfo.InvariantCulture), (o, text) =>
        {
            if (!FlagParser.TryParseInteger(text, int.MinValue, int.MaxValue, out var v))
            {
                return false;
            }

            set(o, (int)v);
            return true;
        });

    public static FlagDefinition Int64(string name, Func<ServerOptions, long> get, Action<ServerOptions, long> set,
        string help) =>
        new(name, FlagType.Int64, help, o => get(o).ToString(CultureInfo.InvariantCulture), (o, text) =>
        {
            if (!FlagParser.TryParseInteger(text, long.MinValue, long.MaxValue, out var v))
            {
                return false;
            }

            set(o, v);
            return true;
        });

    public static FlagDefinition Bool(string name, Func<ServerOptions, bool> get, Action<ServerOptions, bool> set,
        string help) =>
        new(name, FlagType.Bool, help, o => get(o) ? "true" : "false", (o, text) =>
        {
            if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text == "1")
            {
                set(o, true);
                return true;
            }

            if (text.Equals("false", StringComparison.OrdinalIgnoreCase) || text == "0")
            {
                set(o, false);
                return true;
            }

            return false;
        });

    public static FlagDefinition String(string name, Func<ServerOptions, string> get,
        Action<ServerOptions, string> set, string help) =>
        new(name, FlagType.String, help, get, (o, text) =>
        {
            set(o, text);
            return true;
        });

    public static FlagDefinition Float(string name, Func<ServerOptions, float> get, Action<ServerOptions, float> set,
        string help) =>
        new(name, FlagType.Float, help, o => FormatFloat(get(o)), (o, text) =>
        {
            if (!FlagParser.TryParseFloat(text, out var v))
            {
                return false;
            }

            set(o, v);
            return true;
        });

    // printf("%f") of the float promoted to double.
    private static string FormatFloat(float value) => value switch
    {
        float.PositiveInfinity => "inf",
        float.NegativeInfinity => "-inf",
        _ when float.IsNaN(value) => "nan",
        _ => ((double)value).ToString("F6", CultureInfo.InvariantCulture),
    };
}

/// <summary>Outcome of <see cref="FlagParser.Parse"/>; the caller does the I/O.</summary>
/// <param name="Options">Parsed options (also returned when the process must exit).</param>
/// <param name="ExitCode">Set when the process must exit now: 255 for usage/bad value/<c>--help</c>, 0 for
/// <c>--version</c>.</param>
/// <param name="Output">Text for stdout ("" when nothing is printed).</param>
/// <param name="Errors">TSL's <c>LOG(ERROR)</c> lines for bad values (<c>Couldn't interpret value …</c>), for
/// stderr.</param>
/// <param name="UnknownArguments">Arguments no flag matched, in order (TSL's leftover argv without argv[0]).</param>
internal sealed record FlagParseResult(
    ServerOptions Options,
    int? ExitCode,
    string Output,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> UnknownArguments);
