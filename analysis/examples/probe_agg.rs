//! Temporary profiling probe (not part of the deliverable).
use polars::prelude::*;
use std::time::Instant;

fn main() -> PolarsResult<()> {
    let n = 6_500_000usize;
    let rid: Vec<u32> = (0..n).map(|i| (i * 2 / 13) as u32).collect();
    let dim: Vec<u32> = (0..n).map(|i| (i % 7 % 5) as u32).collect();
    let rating: Vec<Option<i32>> = (0..n).map(|i| if i % 23 == 0 { None } else { Some((i % 5) as i32 + 1) }).collect();
    let mut rid = Column::new("rid".into(), rid);
    rid.set_sorted_flag(polars::series::IsSorted::Ascending);
    let df = DataFrame::new(n, vec![rid, Column::new("dim".into(), dim), Column::new("rating".into(), rating)])?;
    let time = |name: &str, aggs: Vec<Expr>| -> PolarsResult<()> {
        let t = Instant::now();
        let out = df.clone().lazy().group_by([col("rid")]).agg(aggs).collect()?;
        println!("{name}: {:.3} s ({} rows)", t.elapsed().as_secs_f64(), out.height());
        Ok(())
    };
    time("len", vec![len()])?;
    time("count", vec![col("rating").count()])?;
    time("sum", vec![col("rating").sum()])?;
    time("sum cast", vec![col("rating").cast(DataType::Int64).sum()])?;
    time("min max", vec![col("rating").min(), col("rating").max()])?;
    let t = |d: u32| when(col("dim").eq(lit(d))).then(col("rating")).otherwise(lit(NULL).cast(DataType::Int32));
    time("1 ternary count", vec![t(0).count()])?;
    time("1 ternary sum", vec![t(0).sum()])?;
    time("5 ternary count+sum", (0..5).flat_map(|d| [t(d).count().alias(format!("c{d}")), t(d).sum().alias(format!("s{d}"))]).collect())?;
    let z = |d: u32| (col("rating") * col("dim").eq(lit(d)).cast(DataType::Int32)).fill_null(lit(0));
    time("5 mul sum", (0..5).map(|d| z(d).sum().alias(format!("s{d}"))).collect())?;
    let c = |d: u32| (col("dim").eq(lit(d)).and(col("rating").is_not_null()));
    time("5 bool sum", (0..5).map(|d| c(d).sum().alias(format!("c{d}"))).collect())?;
    Ok(())
}
