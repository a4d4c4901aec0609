using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TensorServe.FunctionalTests.Process;

/// <summary>What a finished <c>tensorserve</c> run printed and returned.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// The real <c>tensorserve</c> executable as a child process: <c>dotnet tensorserve.dll args...</c>, with the dll the
/// test project's reference to src/TensorServe copies into the test output (next to its runtimeconfig and deps files).
/// Output is captured for assertions and for failure messages; disposing kills the whole process tree.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>Bound on a server start (model load + port open); generous for a loaded 2-core CI machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Bound on a run that is expected to exit by itself (flag errors, startup failures, --version).</summary>
    public static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly System.Diagnostics.Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _outputLock = new();

    private ServerProcess(System.Diagnostics.Process process, int grpcPort, int restPort)
    {
        _process = process;
        GrpcPort = grpcPort;
        RestPort = restPort;
    }

    /// <summary>The gRPC port passed as <c>--port</c> (0 when disabled).</summary>
    public int GrpcPort { get; }

    /// <summary>The REST port passed as <c>--rest_api_port</c> (0 when disabled).</summary>
    public int RestPort { get; }

    public Uri RestBaseAddress => new($"http://127.0.0.1:{RestPort}");

    public string GrpcAddress => $"127.0.0.1:{GrpcPort}";

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_outputLock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_outputLock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Path of <c>tensorserve.dll</c> in the test output folder.</summary>
    public static string ServerDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "tensorserve.dll");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"tensorserve.dll not found next to the test assembly ({AppContext.BaseDirectory}); the test project " +
                    "references src/TensorServe, so the build should have copied it there", path);
            }
            return path;
        }
    }

    /// <summary>
    /// The <c>dotnet</c> host running these tests (the CLI sets DOTNET_HOST_PATH for its children), else <c>dotnet</c>
    /// from PATH.
    /// </summary>
    private static string DotnetHost
    {
        get
        {
            var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
            {
                return hostPath;
            }
            var current = Environment.ProcessPath;
            if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
            {
                return current;
            }
            return "dotnet";
        }
    }

    /// <summary>A TCP port that was free on loopback a moment ago (bind port 0, read it, release it).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <c>tensorserve</c> with <paramref name="args"/> and waits (bounded) until it exits by itself.</summary>
    public static async Task<ProcessResult> RunToExitAsync(params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(StartInfo(args))
            ?? throw new InvalidOperationException("could not start tensorserve");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
            throw new TimeoutException(
                $"tensorserve {string.Join(' ', args)} did not exit within {ExitTimeout.TotalSeconds} s\n" +
                new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false)));
        }
        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>
    /// Starts a server on fresh loopback ports: <c>--port</c> and <c>--rest_api_port</c> are appended unless
    /// <paramref name="args"/> sets them (set <c>--rest_api_port=0</c> to disable REST). Returns once every enabled port
    /// accepts TCP connections; fails with the captured output if the process exits or the ports stay closed.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(params string[] args)
    {
        // A port found free can be taken by someone else before the server binds it; retry with new ports then.
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var server = Launch(args);
            try
            {
                await server.WaitUntilListeningAsync().ConfigureAwait(false);
                return server;
            }
            catch (ServerStartException ex) when (attempt < Attempts && ex.PortInUse)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private static ServerProcess Launch(string[] args)
    {
        var all = new List<string>(args);
        var grpcPort = PortArgument(args, "--port");
        if (grpcPort is null)
        {
            grpcPort = FreeTcpPort();
            all.Add($"--port={grpcPort}");
        }
        var restPort = PortArgument(args, "--rest_api_port");
        if (restPort is null)
        {
            restPort = FreeTcpPort();
            all.Add($"--rest_api_port={restPort}");
        }

        var process = new System.Diagnostics.Process { StartInfo = StartInfo(all), EnableRaisingEvents = true };
        var server = new ServerProcess(process, grpcPort.Value, restPort.Value);
        process.OutputDataReceived += (_, e) => server.Append(server._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(server._stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private static int? PortArgument(string[] args, string flag)
    {
        var prefix = flag + "=";
        var arg = args.LastOrDefault(a => a.StartsWith(prefix, StringComparison.Ordinal));
        return arg is null ? null : int.Parse(arg.AsSpan(prefix.Length), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(ServerDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        // ASP.NET's own URL settings from the test environment must not add listeners beside the flags' ports.
        foreach (var name in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" })
        {
            info.Environment.Remove(name);
        }
        return info;
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_outputLock)
        {
            target.Append(line).Append('\n');
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        var ports = new[] { RestPort, GrpcPort }.Where(p => p != 0).ToArray();
        foreach (var port in ports)
        {
            while (!await AcceptsConnectionAsync(port).ConfigureAwait(false))
            {
                if (_process.HasExited)
                {
                    // Let the output readers drain what the process wrote before it died.
                    await _process.WaitForExitAsync().ConfigureAwait(false);
                    throw new ServerStartException(
                        $"tensorserve exited with code {_process.ExitCode} before listening on port {port}\n{OutputReport()}",
                        StandardError.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new ServerStartException(
                        $"tensorserve did not listen on port {port} within {StartTimeout.TotalSeconds} s\n{OutputReport()}",
                        portInUse: false);
                }
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>True when a TCP connection to <paramref name="port"/> on loopback succeeds.</summary>
    public static async Task<bool> AcceptsConnectionAsync(int port)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Captured stdout and stderr, for assertion messages.</summary>
    public string OutputReport() => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    /// <summary>Kills the process tree (always, whatever the test did) and waits for it to go.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Never started or already reaped; nothing is left to stop.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private sealed class ServerStartException(string message, bool portInUse) : Exception(message)
    {
        public bool PortInUse { get; } = portInUse;
    }
}
