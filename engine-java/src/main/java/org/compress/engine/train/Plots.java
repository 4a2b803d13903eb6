// PNG line plots of logged metrics (XChart), written beside metrics.jsonl.
package org.compress.engine.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

public final class Plots {
    private Plots() {}

    /** One chart of {@code yKeys} against {@code xKey} over the records that have them; returns the file written. */
    public static Path line(Path file, String title, List<Map<String, Object>> records, String xKey, String... yKeys) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xKey).build();
        for (String y : yKeys) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (Map<String, Object> r : records) {
                if (r.get(xKey) instanceof Number x && r.get(y) instanceof Number v) {
                    xs.add(x.doubleValue());
                    ys.add(v.doubleValue());
                }
            }
            if (!xs.isEmpty()) chart.addSeries(y, xs, ys);
        }
        if (chart.getSeriesMap().isEmpty()) return null;
        try {
            BitmapEncoder.saveBitmap(chart, file.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plot " + file, e);
        }
        return file;
    }
}
