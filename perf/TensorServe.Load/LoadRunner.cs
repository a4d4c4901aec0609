using System.Diagnostics;
using HdrHistogram;

namespace TensorServe.Load;

/// <summary>
/// Runs a scenario as a closed loop: <c>concurrency</c> workers, each sending its next request as soon as the previous
/// one answered, first for a short settle phase (not recorded), then for the measured duration. A request in flight when the
/// duration ends is allowed to finish and is counted; the elapsed time used for RPS includes that drain.
/// </summary>
internal static class LoadRunner
{
    /// <summary>Per-request limit: a stuck server shows up as "timeout" failures, never as a hung run.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends every scenario's requests, interleaved, without recording. Tiered JIT needs this: on 2 cores busy with the
    /// load itself, the background tier-1 compiles lag, and a 2 s warm-up left the first scenario measured at a third of
    /// its warm throughput.
    /// </summary>
    public static Task WarmUpAsync(IReadOnlyList<Scenario> scenarios, int concurrency, TimeSpan duration,
        CancellationToken abort) =>
        duration > TimeSpan.Zero && scenarios.Count > 0
            ? RunPhaseAsync(new RoundRobinScenario(scenarios), concurrency, duration, abort)
            : Task.CompletedTask;

    /// <summary>Runs <paramref name="settle"/> unrecorded (connections opened, caches filled), then measures.</summary>
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, int concurrency, TimeSpan settle,
        TimeSpan duration, CancellationToken abort)
    {
        if (settle > TimeSpan.Zero)
        {
            await RunPhaseAsync(scenario, concurrency, settle, abort).ConfigureAwait(false);
        }
        var started = Stopwatch.GetTimestamp();
        var workers = await RunPhaseAsync(scenario, concurrency, duration, abort).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return ScenarioResult.Merge(scenario, concurrency, elapsed, workers, interrupted: abort.IsCancellationRequested);
    }

    private static async Task<WorkerStats[]> RunPhaseAsync(Scenario scenario, int concurrency, TimeSpan duration,
        CancellationToken abort)
    {
        using var phase = CancellationTokenSource.CreateLinkedTokenSource(abort);
        phase.CancelAfter(duration);
        var stats = new WorkerStats[concurrency];
        var tasks = new Task[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            stats[i] = new WorkerStats();
            var worker = i;
            tasks[i] = Task.Run(() => WorkAsync(scenario, worker, stats[worker], phase.Token, abort), CancellationToken.None);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return stats;
    }

    private static async Task WorkAsync(Scenario scenario, int worker, WorkerStats stats, CancellationToken phase,
        CancellationToken abort)
    {
        while (!phase.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            string? failure;
            try
            {
                // Only an abort (Ctrl+C) cancels a request; the end of the phase lets it finish.
                failure = await scenario.ExecuteAsync(worker, abort).ConfigureAwait(false);
            }
            catch (Exception) when (abort.IsCancellationRequested)
            {
                // Aborted mid-request (gRPC reports it as RpcException Cancelled): not a server failure, not counted.
                return;
            }
            catch (Exception e)
            {
                // Anything a scenario did not classify is still a failed request, never a crashed run.
                failure = $"{e.GetType().Name}: {e.Message}";
            }
            stats.Record(Stopwatch.GetElapsedTime(start), failure);
        }
    }
}

/// <summary>Each call goes to the next scenario in turn.</summary>
internal sealed class RoundRobinScenario(IReadOnlyList<Scenario> scenarios) : Scenario("warm-up", "all scenarios in turn")
{
    private int _next = -1;

    public override Task<string?> ExecuteAsync(int worker, CancellationToken cancellationToken)
    {
        var index = (int)((uint)Interlocked.Increment(ref _next) % (uint)scenarios.Count);
        return scenarios[index].ExecuteAsync(worker, cancellationToken);
    }
}

/// <summary>One worker's counts and latency histogram (no sharing, so no locking on the hot path).</summary>
internal sealed class WorkerStats
{
    /// <summary>Latencies are recorded in microseconds up to one minute, at 3 significant digits.</summary>
    public const long HighestMicroseconds = 60_000_000;

    private const int MaxDistinctFailures = 20;

    public LongHistogram Ok { get; } = new(1, HighestMicroseconds, 3);

    public long Failed { get; private set; }

    public Dictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    public void Record(TimeSpan latency, string? failure)
    {
        if (failure is null)
        {
            Ok.RecordValue(Math.Clamp((long)latency.TotalMicroseconds, 1, HighestMicroseconds));
            return;
        }
        Failed++;
        if (!Failures.ContainsKey(failure) && Failures.Count >= MaxDistinctFailures)
        {
            failure = "(other reasons)";
        }
        Failures[failure] = Failures.GetValueOrDefault(failure) + 1;
    }
}

/// <summary>A scenario's merged numbers; latencies are of successful requests, in milliseconds.</summary>
internal sealed record ScenarioResult(
    string Name,
    string Description,
    int Concurrency,
    TimeSpan Elapsed,
    long Ok,
    long Failed,
    double MinMs,
    double MeanMs,
    double StdDevMs,
    double P50Ms,
    double P75Ms,
    double P95Ms,
    double P99Ms,
    double MaxMs,
    IReadOnlyList<KeyValuePair<string, long>> Failures,
    bool Interrupted)
{
    public long Requests => Ok + Failed;

    public double Rps => Elapsed.TotalSeconds > 0 ? Requests / Elapsed.TotalSeconds : 0;

    public static ScenarioResult Merge(Scenario scenario, int concurrency, TimeSpan elapsed, WorkerStats[] workers,
        bool interrupted)
    {
        var histogram = new LongHistogram(1, WorkerStats.HighestMicroseconds, 3);
        var failed = 0L;
        var failures = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var worker in workers)
        {
            histogram.Add(worker.Ok);
            failed += worker.Failed;
            foreach (var (reason, count) in worker.Failures)
            {
                failures[reason] = failures.GetValueOrDefault(reason) + count;
            }
        }
        var ok = histogram.TotalCount;
        // HdrHistogram throws for a percentile of an empty histogram: with no successful request every latency is 0.
        double Ms(Func<long> microseconds) => ok == 0 ? 0 : microseconds() / 1000.0;
        return new ScenarioResult(
            scenario.Name,
            scenario.Description,
            concurrency,
            elapsed,
            ok,
            failed,
            Ms(() => MinRecorded(histogram)),
            ok == 0 ? 0 : histogram.GetMean() / 1000.0,
            ok == 0 ? 0 : histogram.GetStdDeviation() / 1000.0,
            Ms(() => histogram.GetValueAtPercentile(50)),
            Ms(() => histogram.GetValueAtPercentile(75)),
            Ms(() => histogram.GetValueAtPercentile(95)),
            Ms(() => histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetMaxValue),
            failures.OrderByDescending(kv => kv.Value).ToArray(),
            interrupted);
    }

    /// <summary>The lowest recorded bucket (HdrHistogram's public API has a max but no min).</summary>
    private static long MinRecorded(LongHistogram histogram)
    {
        foreach (var bucket in histogram.RecordedValues())
        {
            return histogram.LowestEquivalentValue(bucket.ValueIteratedTo);
        }
        return 0;
    }
}
