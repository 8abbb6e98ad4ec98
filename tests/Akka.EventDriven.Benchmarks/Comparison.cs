namespace Akka.EventDriven.Benchmarks;

/// <summary>One pair of alternating rounds: the baseline's figure and the platform's, measured one right after the other.</summary>
/// <param name="Baseline">The baseline's figure (in the comparison's unit).</param>
/// <param name="Platform">The platform's figure.</param>
/// <param name="BaselineRun">The baseline's measurement, when it has counts and CPU behind it.</param>
/// <param name="PlatformRun">The platform's measurement.</param>
/// <param name="PlatformFirst">Whether the platform's round ran first in this pair; null when the two figures come from
/// one window (projection-lag's budget and lag).</param>
public sealed record Pair(double Baseline, double Platform, Measurement? BaselineRun, Measurement? PlatformRun, bool? PlatformFirst)
{
    /// <summary>Platform ÷ baseline (0 when the baseline is 0).</summary>
    public double Ratio => Baseline > 0 ? Platform / Baseline : 0;
}

/// <summary>
/// One figure of a suite: the platform against a baseline (or a peer), measured in pairs of alternating rounds so that
/// one noisy moment of a busy machine moves one pair, not the result. The ratio is the median of the pairs' ratios,
/// reported with their min–max; each side's figure is the median of its rounds.
/// </summary>
/// <param name="name">Short name, unique within the suite ("append", "durable", "marten-single").</param>
/// <param name="unit">The unit of both sides' figures ("events/s"; "ms" for a latency budget).</param>
/// <param name="goal">The least ratio that meets the goal; null when none is set.</param>
/// <param name="baselineKind">What the baseline side is.</param>
/// <param name="platformKind">What the platform side is.</param>
public sealed class Comparison(string name, string unit, double? goal, string baselineKind, string platformKind)
{
    private readonly List<Pair> _pairs = [];

    public string Name { get; } = name;
    public string Unit { get; } = unit;
    public double? Goal { get; } = goal;
    public string BaselineKind { get; } = baselineKind;
    public string PlatformKind { get; } = platformKind;
    public IReadOnlyList<Pair> Pairs => _pairs;

    /// <summary>A pair whose figures are the two measurements' rates.</summary>
    public Pair Add(Measurement baseline, Measurement platform, bool platformFirst) =>
        Add(baseline.PerSecond, platform.PerSecond, baseline, platform, platformFirst);

    /// <summary>A pair of figures (with the measurements behind them, if any).</summary>
    public Pair Add(double baseline, double platform, Measurement? baselineRun, Measurement? platformRun, bool? platformFirst)
    {
        var pair = new Pair(baseline, platform, baselineRun, platformRun, platformFirst);
        _pairs.Add(pair);
        return pair;
    }

    public double Ratio => Median(_pairs.Select(p => p.Ratio));
    public double RatioMin => _pairs.Count == 0 ? 0 : _pairs.Min(p => p.Ratio);
    public double RatioMax => _pairs.Count == 0 ? 0 : _pairs.Max(p => p.Ratio);
    public double BaselineMedian => Median(_pairs.Select(p => p.Baseline));
    public double PlatformMedian => Median(_pairs.Select(p => p.Platform));
    public bool? MeetsGoal => Goal is { } g ? Math.Round(Ratio, 3) >= g : null;

    /// <summary>Runs <paramref name="pairs"/> pairs of rounds, the order swapped every pair (baseline then platform, then
    /// platform then baseline, …) so that neither side always runs first; <c>round</c> counts from 0 per side.</summary>
    public async Task<Comparison> AlternateAsync(int pairs, Func<int, Task<Measurement>> baseline, Func<int, Task<Measurement>> platform)
    {
        for (var round = 0; round < pairs; round++)
        {
            Measurement b, p;
            var platformFirst = round % 2 == 1;
            if (platformFirst)
            {
                p = await platform(round);
                b = await baseline(round);
            }
            else
            {
                b = await baseline(round);
                p = await platform(round);
            }
            Log(Add(b, p, platformFirst), round, pairs);
        }
        return this;
    }

    /// <summary>Prints one pair.</summary>
    public void Log(Pair pair, int round, int pairs) =>
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {Name} pair {round + 1}/{pairs}: baseline {pair.Baseline:0.#} {Unit}, " +
                          $"platform {pair.Platform:0.#} {Unit}, ratio {pair.Ratio:0.000}");

    public Dictionary<string, object?> Describe() => new()
    {
        ["name"] = Name,
        ["unit"] = Unit,
        ["ratio"] = Math.Round(Ratio, 3),
        ["ratio_min"] = Math.Round(RatioMin, 3),
        ["ratio_max"] = Math.Round(RatioMax, 3),
        ["goal"] = Goal,
        ["meets_goal"] = MeetsGoal,
        ["pairs"] = _pairs.Count,
        ["order"] = _pairs.Any(p => p.PlatformFirst is null)
            ? "consecutive windows of one run, each giving both figures"
            : "pairs of alternating rounds, the order swapped every pair (baseline first in pairs 1, 3, …)",
        ["baseline"] = Side(BaselineKind, _pairs.Select(p => (p.Baseline, p.BaselineRun)).ToList()),
        ["platform"] = Side(PlatformKind, _pairs.Select(p => (p.Platform, p.PlatformRun)).ToList()),
        ["rounds"] = _pairs.Select((p, i) => new Dictionary<string, object?>
        {
            ["pair"] = i + 1,
            ["baseline"] = Math.Round(p.Baseline, 2),
            ["platform"] = Math.Round(p.Platform, 2),
            ["ratio"] = Math.Round(p.Ratio, 3),
            ["platform_first"] = p.PlatformFirst,
        }).ToArray(),
    };

    private Dictionary<string, object?> Side(string kind, List<(double Value, Measurement? Run)> rounds)
    {
        var runs = rounds.Select(r => r.Run).OfType<Measurement>().ToList();
        // Over the rounds that completed operations (a round of none has no CPU per operation).
        var counted = runs.Where(r => r.Count > 0).ToList();
        double? Cpu(Func<Measurement, double?> per1k) =>
            counted.Count == 0 || counted.Any(r => per1k(r) is null) ? null : Math.Round(Median(counted.Select(r => per1k(r)!.Value)), 7);
        return new()
        {
            ["kind"] = kind,
            ["median"] = Math.Round(Median(rounds.Select(r => r.Value)), 2),
            ["min"] = rounds.Count == 0 ? 0 : Math.Round(rounds.Min(r => r.Value), 2),
            ["max"] = rounds.Count == 0 ? 0 : Math.Round(rounds.Max(r => r.Value), 2),
            ["per_round"] = rounds.Select(r => Math.Round(r.Value, 2)).ToArray(),
            // CPU seconds per 1,000 operations of this side (median over its rounds): this process (with any child
            // processes the suite names) and the PostgreSQL server (null when it is not on this machine).
            ["process_cpu_s_per_1k"] = Cpu(r => r.ProcessCpuPer1k),
            ["database_cpu_s_per_1k"] = Cpu(r => r.DatabaseCpuPer1k),
            ["measurements"] = runs.Select(r => r.Describe()).ToArray(),
        };
    }

    /// <summary>The median (the mean of the middle two for an even count); 0 for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return 0;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
