using System.Collections.Concurrent;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>The input of the test saga; it says where and how the saga misbehaves.</summary>
public sealed class OrderData
{
    public string OrderId { get; set; } = "";
    /// <summary>Index of the step that fails (-1: none).</summary>
    public int FailStep { get; set; } = -1;
    /// <summary>How many attempts of that step fail before one succeeds.</summary>
    public int FailTimes { get; set; } = int.MaxValue;
    /// <summary>Index of the step that hangs until cancelled (-1: none).</summary>
    public int HangStep { get; set; } = -1;
    /// <summary>Compensations of this step index fail (-1: none).</summary>
    public int FailCompensationStep { get; set; } = -1;
    /// <summary>Written by the steps: proves that data flows between steps and survives restarts.</summary>
    public List<string> Done { get; set; } = [];
    public int Total { get; set; }
}

/// <summary>Records every effect per saga id: "try:s1" (attempt started), "do:s1" (effect done), "undo:s1".</summary>
public static class Effects
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Log = new();

    public static void Add(string sagaId, string effect) => Log.GetOrAdd(sagaId, _ => new()).Enqueue(effect);

    public static IReadOnlyList<string> Of(string sagaId) => Log.TryGetValue(sagaId, out var q) ? q.ToArray() : [];

    public static int Count(string sagaId, string effect) => Of(sagaId).Count(e => e == effect);
}

/// <summary>Counts the attempts of a step running at the same time, per saga id, and lets an attempt wait for the next.</summary>
public static class Attempts
{
    private static readonly ConcurrentDictionary<string, int[]> Counters = new();
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Started = new();

    /// <summary>Marks an attempt as running; returns a handle that marks it finished.</summary>
    public static IDisposable Enter(string sagaId)
    {
        var c = Counters.GetOrAdd(sagaId, _ => new int[2]); // [0] running now, [1] most seen at once
        var now = Interlocked.Increment(ref c[0]);
        int max;
        while ((max = Volatile.Read(ref c[1])) < now && Interlocked.CompareExchange(ref c[1], now, max) != max) { }
        return new Exit(c);
    }

    /// <summary>The most attempts of the saga's step seen running at once.</summary>
    public static int MaxConcurrent(string sagaId) => Counters.TryGetValue(sagaId, out var c) ? Volatile.Read(ref c[1]) : 0;

    /// <summary>Completes when a later attempt of the saga's step has started.</summary>
    public static TaskCompletionSource NextStarted(string sagaId) =>
        Started.GetOrAdd(sagaId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private sealed class Exit(int[] c) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref c[0]);
    }
}

public static class TestSagas
{
    public const int Steps = 4;

    /// <summary>Four steps s0..s3, each with a compensation; 3 attempts with 100 ms exponential backoff (no jitter),
    /// 300 ms per attempt; compensations 2 attempts.</summary>
    public static readonly SagaDefinition<OrderData> Order = SagaDefinition.Define<OrderData>("test-order", s =>
    {
        for (var i = 0; i < Steps; i++)
        {
            var step = i;
            s.Step($"s{step}", $"Step {step}",
                action: async (ctx, ct) =>
                {
                    Effects.Add(ctx.SagaId, $"try:s{step}");
                    if (ctx.Data.HangStep == step) await Task.Delay(Timeout.Infinite, ct);
                    if (ctx.Data.FailStep == step && Effects.Count(ctx.SagaId, $"try:s{step}") <= ctx.Data.FailTimes)
                        throw new InvalidOperationException($"s{step} failed (attempt {ctx.Attempt})");
                    Effects.Add(ctx.SagaId, $"do:s{step}");
                    ctx.Data.Done.Add($"s{step}");
                    ctx.Data.Total += step + 1;
                },
                compensation: (ctx, _) =>
                {
                    if (ctx.Data.FailCompensationStep == step) throw new InvalidOperationException($"undo s{step} failed");
                    Effects.Add(ctx.SagaId, $"undo:s{step}");
                    return Task.CompletedTask;
                });
        }
        s.DefaultRetry(new RetryPolicy(3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 2.0, 0))
            .DefaultTimeout(TimeSpan.FromMilliseconds(300))
            .DefaultCompensationRetry(new RetryPolicy(2, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), 2.0, 0));
    });

    /// <summary>Two steps: s0 completes at once, s1 waits until cancelled (30 s timeout, 3 attempts): for the deadline.</summary>
    public static readonly SagaDefinition<OrderData> Deadline = SagaDefinition.Define<OrderData>("test-deadline", s => s
        .Step("s0", "Quick", (ctx, _) => { Effects.Add(ctx.SagaId, "do:s0"); return Task.CompletedTask; },
            compensation: (ctx, _) => { Effects.Add(ctx.SagaId, "undo:s0"); return Task.CompletedTask; })
        .Step("s1", "Hangs", async (ctx, ct) =>
            {
                Effects.Add(ctx.SagaId, "try:s1");
                await Task.Delay(Timeout.Infinite, ct);
            }, compensation: (ctx, _) => { Effects.Add(ctx.SagaId, "undo:s1"); return Task.CompletedTask; },
            retry: new RetryPolicy(3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 2.0, 0), timeout: TimeSpan.FromSeconds(30)));

    /// <summary>Two steps; the first waits (up to 30 s) on its first attempt in a process until cancelled: used to stop
    /// a node mid-step.</summary>
    public static readonly SagaDefinition<OrderData> Blocking = SagaDefinition.Define<OrderData>("test-blocking", s => s
        .Step("wait", "Wait on the first run", async (ctx, ct) =>
        {
            Effects.Add(ctx.SagaId, "try:wait");
            if (Effects.Count(ctx.SagaId, "try:wait") == 1) await Task.Delay(TimeSpan.FromSeconds(30), ct);
            Effects.Add(ctx.SagaId, "do:wait");
            ctx.Data.Done.Add("wait");
        }, compensation: (ctx, _) => { Effects.Add(ctx.SagaId, "undo:wait"); return Task.CompletedTask; }, timeout: TimeSpan.FromSeconds(60))
        .Step("finish", "Finish", (ctx, _) =>
        {
            Effects.Add(ctx.SagaId, "do:finish");
            ctx.Data.Done.Add("finish");
            return Task.CompletedTask;
        }));

    /// <summary>Three quick steps (the many-sagas test and the README example).</summary>
    public static readonly SagaDefinition<OrderData> Quick = SagaDefinition.Define<OrderData>("test-quick", s => s
        .Step("reserve", "Reserve", (ctx, _) => { ctx.Data.Done.Add("reserve"); ctx.Data.Total += 1; return Task.CompletedTask; },
            compensation: (ctx, _) => Task.CompletedTask)
        .Step("charge", "Charge", (ctx, _) => { ctx.Data.Done.Add("charge"); ctx.Data.Total += 10; return Task.CompletedTask; },
            compensation: (ctx, _) => Task.CompletedTask)
        .Step("ship", "Ship", (ctx, _) => { ctx.Data.Done.Add("ship"); ctx.Data.Total += 100; return Task.CompletedTask; }));

    /// <summary>How long an abandoned attempt of the slow steps keeps running after its timeout (a service that
    /// ignores cancellation). Not a wait of the tests: the attempt's own duration.</summary>
    public static readonly TimeSpan SlowAttempt = TimeSpan.FromMilliseconds(1500);

    /// <summary>Two steps; the second ignores its cancellation token and outlives its 200 ms timeout (no retry), so its
    /// effect may land after the saga gave up on it. Effects: "end:slow" when the abandoned attempt finished.</summary>
    public static readonly SagaDefinition<OrderData> Slow = SlowSaga("test-slow", s => s.Step("slow", "Slow", SlowAction, SlowCompensation));

    internal static SagaDefinition<OrderData> SlowSaga(string name, Action<SagaBuilder<OrderData>>? configure = null) =>
        SagaDefinition.Define<OrderData>(name, s =>
        {
            s.Step("first", "First", (ctx, _) => { Effects.Add(ctx.SagaId, "do:first"); return Task.CompletedTask; },
                compensation: (ctx, _) => { Effects.Add(ctx.SagaId, "undo:first"); return Task.CompletedTask; });
            configure?.Invoke(s);
            s.DefaultTimeout(TimeSpan.FromMilliseconds(200)).DefaultRetry(RetryPolicy.None);
        });

    /// <summary>The slow step of <see cref="Slow"/>, for definitions that vary its policy.</summary>
    internal static Func<SagaContext<OrderData>, CancellationToken, Task> SlowAction => async (ctx, _) =>
    {
        Effects.Add(ctx.SagaId, "try:slow");
        await Task.Delay(SlowAttempt, CancellationToken.None);
        Effects.Add(ctx.SagaId, "end:slow");
    };

    internal static Func<SagaContext<OrderData>, CancellationToken, Task> SlowCompensation => (ctx, _) =>
    {
        Effects.Add(ctx.SagaId, "undo:slow");
        return Task.CompletedTask;
    };

    /// <summary>One step with 2 attempts (50 ms backoff) and a 200 ms timeout: the first attempt ignores its token and
    /// runs until the second attempt starts (or <paramref name="firstAttemptAtMost"/>), the second succeeds at once.</summary>
    internal static SagaDefinition<OrderData> SlowRetrySaga(string name, TimeSpan firstAttemptAtMost, Action<SagaBuilder<OrderData>>? configure = null) =>
        SagaDefinition.Define<OrderData>(name, s =>
        {
            if (configure is not null) configure(s);
            else s.Step("slow", "Slow", SlowRetryAction(firstAttemptAtMost));
            s.DefaultTimeout(TimeSpan.FromMilliseconds(200)).DefaultRetry(new RetryPolicy(2, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), 2.0, 0));
        });

    internal static Func<SagaContext<OrderData>, CancellationToken, Task> SlowRetryAction(TimeSpan firstAttemptAtMost) => async (ctx, _) =>
    {
        using var running = Attempts.Enter(ctx.SagaId);
        Effects.Add(ctx.SagaId, $"try:{ctx.Attempt}");
        if (ctx.Attempt == 1) await Task.WhenAny(Attempts.NextStarted(ctx.SagaId).Task, Task.Delay(firstAttemptAtMost, CancellationToken.None));
        else Attempts.NextStarted(ctx.SagaId).TrySetResult();
        Effects.Add(ctx.SagaId, $"end:{ctx.Attempt}");
    };

    /// <summary><see cref="Slow"/> whose abandoned attempt runs 3 s: long enough to stop the node while the saga is
    /// compensating and waits for it.</summary>
    public static readonly SagaDefinition<OrderData> SlowForResume = SlowSaga("test-slow-resume", s => s.Step("slow", "Slow",
        async (ctx, _) =>
        {
            Effects.Add(ctx.SagaId, "try:slow");
            await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);
            Effects.Add(ctx.SagaId, "end:slow");
        }, SlowCompensation));

    /// <summary><see cref="Slow"/> with the slow step's timeout policy <see cref="StepTimeoutPolicy.Abandon"/>.</summary>
    public static readonly SagaDefinition<OrderData> SlowAbandoned = SlowSaga("test-slow-abandon",
        s => s.Step("slow", "Slow", SlowAction, SlowCompensation, onTimeout: StepTimeoutPolicy.Abandon));

    /// <summary><see cref="SlowRetry"/> whose step opts in to concurrent retries: its first attempt runs until the second started.</summary>
    public static readonly SagaDefinition<OrderData> SlowConcurrentRetry = SlowRetrySaga("test-slow-concurrent-retry", TimeSpan.FromSeconds(20),
        s => s.Step("slow", "Slow", SlowRetryAction(TimeSpan.FromSeconds(20)), allowConcurrentRetry: true));

    /// <summary>See <see cref="SlowRetrySaga"/>: a retry never runs beside the attempt before it.</summary>
    public static readonly SagaDefinition<OrderData> SlowRetry = SlowRetrySaga("test-slow-retry", TimeSpan.FromSeconds(2));
}
