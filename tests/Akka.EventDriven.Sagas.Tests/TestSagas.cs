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
}
