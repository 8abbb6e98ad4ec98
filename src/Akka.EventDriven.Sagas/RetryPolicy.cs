namespace Akka.EventDriven.Sagas;

/// <summary>
/// How often a step's action (or compensation) is attempted, and how long to wait between attempts: exponential
/// backoff (<c>InitialBackoff * Multiplier^(n-1)</c>, at most <see cref="MaxBackoff"/>) with random jitter.
/// </summary>
/// <param name="MaxAttempts">Attempts in total, 1 or more (1 = no retry).</param>
/// <param name="InitialBackoff">Wait after the first failed attempt.</param>
/// <param name="MaxBackoff">Longest wait between two attempts (the cap).</param>
/// <param name="Multiplier">Growth of the wait per failed attempt. Default 2.</param>
/// <param name="Jitter">Random spread of each wait, 0 to 1 (0.2 = ±20 %). Default 0.2.</param>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff, double Multiplier = 2.0, double Jitter = 0.2)
{
    /// <summary>One attempt, no retry.</summary>
    public static readonly RetryPolicy None = new(1, TimeSpan.Zero, TimeSpan.Zero, 1, 0);

    /// <summary>Up to <paramref name="maxAttempts"/> attempts with exponential backoff starting at
    /// <paramref name="initialBackoff"/>, capped at <paramref name="maxBackoff"/> (default 30 s).</summary>
    public static RetryPolicy Exponential(int maxAttempts, TimeSpan initialBackoff, TimeSpan? maxBackoff = null,
        double multiplier = 2.0, double jitter = 0.2) =>
        new RetryPolicy(maxAttempts, initialBackoff, maxBackoff ?? TimeSpan.FromSeconds(30), multiplier, jitter).Validate();

    /// <summary>The wait after failed attempt number <paramref name="failedAttempt"/> (1-based).</summary>
    public TimeSpan BackoffAfter(int failedAttempt)
    {
        if (InitialBackoff <= TimeSpan.Zero) return TimeSpan.Zero;
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(Multiplier, Math.Max(0, failedAttempt - 1));
        ms = Math.Min(ms, MaxBackoff.TotalMilliseconds);
        if (Jitter > 0) ms *= 1 + Jitter * (2 * Random.Shared.NextDouble() - 1);
        if (!double.IsFinite(ms)) ms = MaxBackoff.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, Math.Min(MaxBackoff.TotalMilliseconds, MaxWait.TotalMilliseconds)));
    }

    /// <summary>Longest backoff or timeout accepted (timers beyond it overflow).</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(24);

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public RetryPolicy Validate()
    {
        if (MaxAttempts < 1) throw new ArgumentException($"MaxAttempts must be at least 1, was {MaxAttempts}.");
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < TimeSpan.Zero) throw new ArgumentException("Backoffs must not be negative.");
        if (MaxBackoff > MaxWait || InitialBackoff > MaxWait) throw new ArgumentException($"Backoffs must be at most {MaxWait.TotalDays:0} days.");
        if (!double.IsFinite(Multiplier) || Multiplier < 1) throw new ArgumentException($"Multiplier must be a number of at least 1, was {Multiplier}.");
        if (!double.IsFinite(Jitter) || Jitter is < 0 or > 1) throw new ArgumentException($"Jitter must be between 0 and 1, was {Jitter}.");
        return this;
    }
}
