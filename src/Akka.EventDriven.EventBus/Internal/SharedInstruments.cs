using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Akka.EventDriven.EventBus;

internal enum InstrumentKind { Counter, UpDownCounter, Gauge }

/// <summary>Observable instruments of one meter shared by every owner in the process: each instrument is created once,
/// and its callback reports the measurements of every owner observing it (each tagged with its actor system).</summary>
internal sealed class SharedInstruments(string meterName)
{
    private readonly Meter _meter = new(meterName);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>>> _observers = new();
    private readonly object _gate = new();

    /// <summary>Adds <paramref name="measure"/> to instrument <paramref name="name"/>; disposing the result removes it.</summary>
    public IDisposable Observe(string name, InstrumentKind kind, Func<IEnumerable<Measurement<long>>> measure, string? unit, string? description)
    {
        ConcurrentDictionary<object, Func<IEnumerable<Measurement<long>>>>? observers;
        lock (_gate)
        {
            if (!_observers.TryGetValue(name, out observers))
            {
                var created = observers = new();
                IEnumerable<Measurement<long>> All() => created.Values.SelectMany(m => m()).ToList();
                _ = kind switch
                {
                    InstrumentKind.Counter => (Instrument)_meter.CreateObservableCounter(name, All, unit, description),
                    InstrumentKind.UpDownCounter => _meter.CreateObservableUpDownCounter(name, All, unit, description),
                    _ => _meter.CreateObservableGauge(name, All, unit, description),
                };
                _observers[name] = created;
            }
        }
        var key = new object();
        observers[key] = measure;
        return new Removal(() => observers.TryRemove(key, out _));
    }

    private sealed class Removal(Action remove) : IDisposable
    {
        private Action? _remove = remove;
        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }
}
