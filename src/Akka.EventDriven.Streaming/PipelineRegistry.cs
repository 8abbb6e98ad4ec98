using System.Collections.Concurrent;
using Akka.Actor;

namespace Akka.EventDriven.Streaming;

/// <summary>The pipelines defined on this actor system's <see cref="StreamProcessor"/>s (each processor registers
/// the pipelines it defines and leaves when disposed), with rates sampled every second and the latest closed windows
/// of windowed pipelines, for operators' tools such as the HTTP API's <c>GET /api/pipelines</c>. Holds at most <see cref="MaxPipelines"/>.</summary>
public sealed class PipelineRegistry : IExtension
{
    /// <summary>Most pipelines tracked; later ones run normally but are not listed.</summary>
    public const int MaxPipelines = 1000;

    /// <summary>The window over which rates are computed.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<(StreamProcessor Processor, string Name), Tracked> _pipelines = new();
    private readonly Timer _sampler;

    internal PipelineRegistry(ExtendedActorSystem system)
    {
        _sampler = new Timer(_ => Sample(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        system.RegisterOnTermination(() => _sampler.Dispose());
    }

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static PipelineRegistry Get(ActorSystem system) => system.WithExtension<PipelineRegistry, PipelineRegistryProvider>();

    /// <summary>Every tracked pipeline now, ordered by name.</summary>
    public IReadOnlyList<PipelineInfo> Snapshot() => _pipelines
        .Select(p =>
        {
            var m = p.Key.Processor.GetMetrics(p.Key.Name);
            var (inRate, outRate) = p.Value.Rates(m.ElementsIn, m.ElementsOut);
            var windows = p.Key.Processor.GetWindows(p.Key.Name);
            return new PipelineInfo(m.Name, m.Status, m.ElementsIn, m.ElementsOut, m.Errors, m.Restarts, inRate, outRate, m.LastError)
            {
                Window = windows.Spec, WindowUnit = windows.Unit, Windows = windows.Latest(),
            };
        })
        .OrderBy(p => p.Name, StringComparer.Ordinal)
        .ToList();

    internal void Add(StreamProcessor processor, string name)
    {
        if (_pipelines.Count < MaxPipelines) _pipelines.TryAdd((processor, name), new Tracked());
    }

    internal void Remove(StreamProcessor processor)
    {
        foreach (var key in _pipelines.Keys)
            if (ReferenceEquals(key.Processor, processor)) _pipelines.TryRemove(key, out _);
    }

    private void Sample()
    {
        var now = Environment.TickCount64;
        foreach (var ((processor, name), tracked) in _pipelines)
        {
            try
            {
                var m = processor.GetMetrics(name);
                tracked.Sample(now, m.ElementsIn, m.ElementsOut);
            }
            catch (KeyNotFoundException)
            {
                // defined, then the processor went away between the listing and the read
            }
        }
    }

    /// <summary>Samples of one pipeline's counters, one a second, for rates over <see cref="RateWindow"/>.</summary>
    private sealed class Tracked
    {
        private const int Samples = 11;
        private readonly long[] _at = new long[Samples], _in = new long[Samples], _out = new long[Samples];
        private int _next, _count;

        public Tracked() => Sample(Environment.TickCount64, 0, 0);

        public void Sample(long now, long elementsIn, long elementsOut)
        {
            lock (_at)
            {
                (_at[_next], _in[_next], _out[_next]) = (now, elementsIn, elementsOut);
                _next = (_next + 1) % Samples;
                _count = Math.Min(Samples, _count + 1);
            }
        }

        public (double In, double Out) Rates(long elementsIn, long elementsOut)
        {
            long at, i, o;
            lock (_at)
            {
                var oldest = _count < Samples ? 0 : _next;
                (at, i, o) = (_at[oldest], _in[oldest], _out[oldest]);
            }
            var seconds = Math.Max(1, (Environment.TickCount64 - at) / 1000.0); // just defined: counts of its first second
            return ((elementsIn - i) / seconds, (elementsOut - o) / seconds);
        }
    }
}
